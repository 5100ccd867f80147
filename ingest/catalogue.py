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
            ("platformID", "installID"),
            ("platform_id",),
            "The installation's random identifier, as sent (VelaUX v1.1-v1.2 call it "
            "installID). Never leaves the server: readers see a per-grant pseudonym.",
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
            "A bucket label such as '<10'; never a raw count. VelaUX v1.1-v1.2 send the "
            "raw count: it becomes its label on arrival (2 -> '<3') and is not kept.",
        ),
        ElementSpec(
            "appCount",
            ("appCount",),
            ("app_count_bucket",),
            "A bucket label such as '<50'; never a raw count. VelaUX v1.1-v1.2 send the "
            "raw count: it becomes its label on arrival (7 -> '<10') and is not kept.",
        ),
        ElementSpec(
            "enableAddonList",
            ("enableAddonList", "enableAddList"),
            ("addons",),
            "Addon names with their status (enabled, enabling, disabling). VelaUX "
            "v1.1-v1.2 send a list of {name, phase} (enableAddList), read the same way; "
            "an addon in another phase is not enabled and is left out.",
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
            "Browser family, major version and screen width. The family is what VelaUX "
            "can tell: chrome covers Chrome and every Chromium-based browser (Edge, "
            "Opera, Samsung, Yandex, ...), safari covers Safari and every browser on iOS; "
            "Safari's number is the WebKit build, not a version, and is not kept. "
            "Language and screen height are sent by VelaUX but never stored.",
        ),
    )
}

STORABLE_KEYS = tuple(CATALOGUE)
REQUIRED_KEYS = frozenset(key for key, spec in CATALOGUE.items() if spec.required)
