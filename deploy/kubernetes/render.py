"""Render the Kustomize base in this folder the way `kubectl kustomize` would, for CI.

CI has no kustomize, kubectl or helm binary, and the schema validator
(`kubernetes-validate`) reads plain resources. This script reads kustomization.yaml and
prints its resources as one YAML stream, applying the only two transformations the base
uses: `namespace` and `images`. It refuses, rather than silently mis-renders:

- a kustomization field it does not render (patches, generators, components, ...);
- a resource that is not a YAML file of this folder (a directory, a URL);
- a YAML file in the folder that kustomization.yaml does not list (it would be forgotten
  by kubectl as well, or be a stray copy that nobody validates);
- two resources with the same kind and name, and a resource without kind or name.

    python deploy/kubernetes/render.py [folder] > manifests.yaml
"""

import sys
from pathlib import Path
from typing import Any

import yaml

KUSTOMIZATION = "kustomization.yaml"
RENDERED_FIELDS = {"apiVersion", "kind", "namespace", "resources", "images"}
IMAGE_FIELDS = {"name", "newName", "newTag", "digest"}
# Kinds without a namespace that a base like this one might hold; kustomize leaves them so.
CLUSTER_SCOPED_KINDS = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
    "CustomResourceDefinition",
}
POD_CONTAINER_LISTS = ("initContainers", "containers")


class RenderError(Exception):
    """The kustomization uses something this script does not render, or is inconsistent."""


def load_kustomization(folder: Path) -> dict[str, Any]:
    kustomization = yaml.safe_load((folder / KUSTOMIZATION).read_text())
    if not isinstance(kustomization, dict):
        raise RenderError(f"{KUSTOMIZATION} is not a mapping")
    unknown = set(kustomization) - RENDERED_FIELDS
    if unknown:
        raise RenderError(
            f"{KUSTOMIZATION} uses fields this script does not render: {sorted(unknown)}"
        )
    if kustomization.get("kind") != "Kustomization":
        raise RenderError(f"{KUSTOMIZATION} is not a Kustomization")
    return kustomization


def resource_files(folder: Path, kustomization: dict[str, Any]) -> list[Path]:
    listed = kustomization.get("resources") or []
    files = []
    for entry in listed:
        path = folder / entry
        if "/" in entry or not path.is_file() or path.suffix not in (".yaml", ".yml"):
            raise RenderError(f"resource {entry!r} is not a YAML file of {folder}")
        files.append(path)
    present = {p.name for p in folder.iterdir() if p.suffix in (".yaml", ".yml")}
    unlisted = present - {KUSTOMIZATION} - set(listed)
    if unlisted:
        raise RenderError(f"YAML files not listed in {KUSTOMIZATION}: {sorted(unlisted)}")
    if len(set(listed)) != len(listed):
        raise RenderError(f"{KUSTOMIZATION} lists a resource twice")
    return files


def load_resources(files: list[Path]) -> list[dict[str, Any]]:
    resources = []
    seen = set()
    for path in files:
        for document in yaml.safe_load_all(path.read_text()):
            if document is None:
                continue
            kind = document.get("kind")
            name = (document.get("metadata") or {}).get("name")
            if not kind or not name:
                raise RenderError(f"{path.name}: a resource without kind or metadata.name")
            if (kind, name) in seen:
                raise RenderError(f"{path.name}: {kind}/{name} is defined twice")
            seen.add((kind, name))
            resources.append(document)
    return resources


def set_namespace(resources: list[dict[str, Any]], namespace: str) -> None:
    for resource in resources:
        metadata = resource["metadata"]
        if resource["kind"] == "Namespace":
            if metadata["name"] != namespace:
                # kustomize would rename it; say so instead of guessing.
                raise RenderError(f"Namespace {metadata['name']!r} is not {namespace!r}")
        elif resource["kind"] not in CLUSTER_SCOPED_KINDS:
            metadata["namespace"] = namespace


def image_name(image: str) -> str:
    """The image without its tag or digest: registry.example.org:5000/a/b:1 -> .../a/b."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last) + last.index(":")]
    return name


def new_image(image: str, rule: dict[str, str]) -> str:
    name = rule.get("newName", image_name(image))
    if "digest" in rule:
        return f"{name}@{rule['digest']}"
    if "newTag" in rule:
        return f"{name}:{rule['newTag']}"
    rest = image[len(image_name(image)) :]
    return name + rest


def pod_specs(node: Any):
    """Every mapping holding a container list: pod templates of any workload kind."""
    if isinstance(node, dict):
        if any(key in node for key in POD_CONTAINER_LISTS):
            yield node
        for value in node.values():
            yield from pod_specs(value)
    elif isinstance(node, list):
        for item in node:
            yield from pod_specs(item)


def set_images(resources: list[dict[str, Any]], rules: list[dict[str, str]]) -> None:
    for rule in rules:
        unknown = set(rule) - IMAGE_FIELDS
        if unknown or "name" not in rule:
            raise RenderError(f"images: entry {rule!r} uses fields this script does not render")
    by_name = {rule["name"]: rule for rule in rules}
    for resource in resources:
        for spec in pod_specs(resource.get("spec")):
            for key in POD_CONTAINER_LISTS:
                for container in spec.get(key) or []:
                    rule = by_name.get(image_name(container["image"]))
                    if rule:
                        container["image"] = new_image(container["image"], rule)


def render(folder: Path) -> list[dict[str, Any]]:
    kustomization = load_kustomization(folder)
    resources = load_resources(resource_files(folder, kustomization))
    if kustomization.get("namespace"):
        set_namespace(resources, kustomization["namespace"])
    set_images(resources, kustomization.get("images") or [])
    return resources


def main(argv: list[str]) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    try:
        resources = render(folder)
    except RenderError as error:
        print(f"render.py: {error}", file=sys.stderr)
        return 1
    yaml.safe_dump_all(resources, sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
