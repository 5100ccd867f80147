"""What the receiver knows how to read and store, element by element.

The *policy* (database rows, versioned, published by maintainers) decides which
elements are approved; this catalogue says, for each element the code can handle,
which client fields it is read from and which report columns hold its coarse form.
An element absent from the published policy leaves its columns empty and its
client fields are discarded.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class ElementSpec:
    key: str
    client_fields: tuple[str, ...]
    columns: tuple[str, ...]
    stored_as: str
    required: bool = False


DEFINITION_KINDS = {
    "componentDefinitionTopList": "component_definitions",
    "traitDefinitionTopList": "trait_definitions",
    "workflowStepDefinitionTopList": "workflow_step_definitions",
    "policyDefinitionTopList": "policy_definitions",
}

CATALOGUE: dict[str, ElementSpec] = {
    spec.key: spec
    for spec in (
        ElementSpec(
            "platformID",
            ("platformID",),
            ("platform_id",),
            "The installation's random identifier, as sent. Never leaves the server: "
            "readers see a per-grant pseudonym.",
            required=True,
        ),
        ElementSpec(
            "requestTime",
            (),
            ("report_date",),
            "The UTC date the report was received, stamped by the receiver.",
            required=True,
        ),
        ElementSpec(
            "version",
            ("version",),
            ("release", "git_commit"),
            "The KubeVela release and the git commit, stored separately.",
        ),
        ElementSpec(
            "installTime",
            ("installTime",),
            ("install_date",),
            "The UTC date of installation (the time of day is dropped).",
        ),
        ElementSpec(
            "clusterCount",
            ("clusterCount",),
            ("cluster_count_bucket",),
            "A bucket label such as '<10'; never a raw count.",
        ),
        ElementSpec(
            "appCount",
            ("appCount",),
            ("app_count_bucket",),
            "A bucket label such as '<50'; never a raw count.",
        ),
        ElementSpec(
            "enableAddonList",
            ("enableAddonList",),
            ("addons",),
            "Addon names with their status (enabled, enabling, disabling).",
        ),
        ElementSpec(
            "xDefinitionTopList",
            tuple(DEFINITION_KINDS),
            tuple(DEFINITION_KINDS.values()),
            "Up to five most-used definition names of each kind: component, trait, "
            "workflow step, policy.",
        ),
        ElementSpec(
            "browserInfo",
            ("browserInfo.nameAndVersion", "browserInfo.screenWidth"),
            ("browser_family", "browser_major_version", "screen_width"),
            "Browser family, major version and screen width. Language and screen "
            "height are sent by VelaUX but never stored.",
        ),
    )
}

STORABLE_KEYS = tuple(CATALOGUE)
REQUIRED_KEYS = frozenset(key for key, spec in CATALOGUE.items() if spec.required)
