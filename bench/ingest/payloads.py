"""Distinct, realistic VelaUX report bodies, as the deployed client sends them.

The shapes follow /work/shared/context/velaux-client.md and the fixtures in
shared/fixtures/velaux: key order as sent, the ``NaN`` version quirk (and a few
fixed clients' ``/``), empty buckets before the first count, definition-list
keys left out when empty, and ``browserInfo`` with the never-stored
``language`` and ``screenHeight``. Every body has its own random platform ID,
so every request is a new installation's first report of the day.
"""

import json
import random

# Kubernetes rand.String(16): lowercase consonants and digits, no vowels or lookalikes.
PLATFORM_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
RELEASES = [
    "v1.3.6", "v1.4.13", "v1.5.8", "v1.6.7", "v1.7.7", "v1.8.2", "v1.9.4", "v1.9.9",
    "v1.9.11", "v1.10.0", "v1.10.1", "v1.10.3",
]  # fmt: skip
CLUSTER_BUCKETS = ["<3", "<10", "<50", "<100", "<150", "<200", "<300", "<500", ">=500"]
OLD_CLUSTER_BUCKETS = ["<3", "<10", "<50", ">=50"]
APP_BUCKETS = ["<10", "<50", "<100", "<500", "<2000", "<5000", "<10000", ">=10000"]
ADDONS = [
    "fluxcd", "velaux", "vela-workflow", "kruise-rollout", "observability", "vela-prism",
    "terraform", "terraform-aws", "terraform-alibaba", "cert-manager", "ingress-nginx",
    "dex", "loki", "prometheus-server", "grafana", "argocd", "vela-migrate", "ocm-cluster-manager",
]  # fmt: skip
ADDON_STATUSES = ["enabled"] * 8 + ["enabling", "disabling"]
DEFINITIONS = {
    "componentDefinitionTopList": [
        "webservice", "worker", "task", "cron-task", "k8s-objects", "helm", "kustomize",
        "raw", "ref-objects", "daemon",
    ],
    "traitDefinitionTopList": [
        "scaler", "gateway", "sidecar", "labels", "annotations", "expose", "storage",
        "env", "hpa", "resource",
    ],
    "workflowStepDefinitionTopList": [
        "deploy", "apply-component", "suspend", "notification", "webhook", "step-group",
        "deploy-cloud-resource", "apply-object", "depends-on-app", "export2config",
    ],
    "policyDefinitionTopList": [
        "topology", "override", "garbage-collect", "apply-once", "shared-resource",
        "read-only", "take-over", "replication",
    ],
}  # fmt: skip
BROWSERS = [
    "chrome124.0.0.0", "chrome131.0.6778.86", "chrome120.0.6099.109", "chrome109.0.0.0",
    "firefox125.0", "firefox132.0", "firefox115.0", "safari/605.1.15", "safari/604.1", "ie9.0",
]  # fmt: skip
LANGUAGES = ["en-US", "en-GB", "zh-CN", "zh-TW", "de-DE", "fr-FR", "ja-JP", "ko-KR", "es-ES"]
SCREENS = [
    (1920, 1080), (2560, 1440), (1440, 900), (1366, 768), (3840, 2160), (1536, 864),
    (1680, 1050), (2880, 1800), (1280, 800),
]  # fmt: skip
OFFSETS = ["Z", "+08:00", "+00:00", "-07:00", "+02:00", "+05:30"]


def platform_id(rng: random.Random) -> str:
    return "".join(rng.choices(PLATFORM_ALPHABET, k=16))


def install_time(rng: random.Random) -> str:
    stamp = (
        f"{rng.randint(2021, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        f"T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    )
    fraction = rng.choice(["", f".{rng.randrange(1000):03d}", f".{rng.randrange(10**9):09d}"])
    return stamp + fraction + rng.choice(OFFSETS)


def version(rng: random.Random) -> str:
    release = rng.choice(RELEASES)
    commit = f"git-{rng.randrange(16**7):07x}"
    roll = rng.random()
    if roll < 0.03:
        return "NaN"  # neither part known
    if roll < 0.06:
        return f"{release}NaN"
    if roll < 0.12:
        return f"{release}/{commit}"  # a fixed client
    return f"{release}NaN{commit}"


def top_list(rng: random.Random, names: list[str]) -> list[str]:
    return rng.sample(names, rng.randint(0, 5))


def report(rng: random.Random) -> dict:
    old = rng.random() < 0.1
    document: dict = {
        "platformID": platform_id(rng),
        "installTime": install_time(rng),
        "version": version(rng),
        "clusterCount": rng.choice([*(OLD_CLUSTER_BUCKETS if old else CLUSTER_BUCKETS), ""]),
        "appCount": rng.choice([*APP_BUCKETS, ""]),
        "enableAddonList": {
            name: rng.choice(ADDON_STATUSES) for name in rng.sample(ADDONS, rng.randint(0, 8))
        },
    }
    for key, names in DEFINITIONS.items():
        chosen = top_list(rng, names)
        if chosen:  # VelaUX leaves the key out when the list is empty
            document[key] = chosen
    width, height = rng.choice(SCREENS)
    document["browserInfo"] = {
        "language": rng.choice(LANGUAGES),
        "nameAndVersion": rng.choice(BROWSERS),
        "screenWidth": width,
        "screenHeight": height,
    }
    return document


def report_body(rng: random.Random) -> bytes:
    return json.dumps(report(rng), separators=(",", ":")).encode()
