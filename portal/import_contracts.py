"""An import-linter contract type for what the built-in ones cannot see: private names.

A name that starts with an underscore (a dunder does not) belongs to its module. The
built-in contracts look at which modules import which; this one reads each module's
source and fails when code in one container uses a private name of a module in another:

    from ingest.stats import _figures        # imported by name
    from ingest import stats; stats._figures  # read off an imported module
    import ingest.stats; ingest.stats._figures

Options (in [tool.importlinter] of pyproject.toml):

- ``containers``: the packages private names must not cross between; by default the
  root packages.
- ``boundary``: ``package`` (default): a private name may be used anywhere inside the
  container that defines it. ``module``: it may not leave its module at all.

Only attributes of imported modules are checked: an attribute of an object
(``cache._cache``, ``self._audit``) is that object's business, not a module's. Used by
``lint-imports`` only; nothing in the product imports this module.
"""

import ast
from dataclasses import asdict, dataclass
from importlib.machinery import ModuleSpec, PathFinder
from pathlib import Path
from typing import cast

import grimp
from importlinter import Contract, ContractCheck, fields, output
from importlinter.domain.contract import InvalidContractOptions

BOUNDARIES = ("package", "module")


@dataclass(frozen=True, order=True)
class PrivateUse:
    importer: str
    line: int
    module: str  # the module that defines the name
    name: str


class PrivateNamesContract(Contract):
    type_name = "private_names"

    containers = fields.ListField(subfield=fields.StringField(), required=False)
    boundary = fields.StringField(required=False, default="package")

    def validate(self) -> None:
        if self.boundary not in BOUNDARIES:
            raise InvalidContractOptions({"boundary": f"One of {', '.join(BOUNDARIES)}."})

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        modules = set(graph.modules)
        checked = sorted(module for module in modules if self._home(module))
        uses = {
            use
            for importer in checked
            for use in private_uses(importer, modules)
            if self._home(use.module) != self._home(importer)
        }
        output.verbose_print(verbose, f"Read {len(checked)} modules for private names.")
        breaches = [asdict(use) for use in sorted(uses)]
        return ContractCheck(kept=not breaches, metadata={"breaches": breaches})

    def render_broken_contract(self, check: ContractCheck) -> None:
        where = "its module" if self.boundary == "module" else "the package that defines it"
        output.print_error(f"A private name is used outside {where}:", bold=False)
        output.new_line()
        for use in check.metadata["breaches"]:
            output.print_error(
                f"- {use['importer']} uses {use['module']}.{use['name']} (l.{use['line']})",
                bold=False,
            )
        output.new_line()

    def _home(self, module: str) -> str | None:
        """The container a module belongs to (the module itself with boundary=module), or
        None when it is in none of them."""
        # Contract._populate_fields replaced the field with the option's cleaned value.
        containers = (
            cast(list[str] | None, self.containers) or self.session_options["root_packages"]
        )
        inside = [c for c in containers if module == c or module.startswith(c + ".")]
        if not inside:
            return None
        return module if self.boundary == "module" else max(inside, key=len)


def private_uses(importer: str, modules: set[str]) -> list[PrivateUse]:
    """Every private name of a module in ``modules`` that ``importer``'s source uses."""
    spec = module_spec(importer)
    origin = cast(str, spec.origin)  # module_spec refuses a spec without one
    tree = ast.parse(Path(origin).read_bytes(), filename=origin)
    package = (
        importer if spec.submodule_search_locations is not None else importer.rpartition(".")[0]
    )
    bound: dict[str, str] = {}  # a local name -> the module it is bound to
    uses: list[PrivateUse] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    bound[alias.name.partition(".")[0]] = alias.name.partition(".")[0]
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(node, package)
            for alias in node.names:
                if is_private(alias.name) and source in modules:
                    uses.append(PrivateUse(importer, node.lineno, source, alias.name))
                if f"{source}.{alias.name}" in modules:
                    bound[alias.asname or alias.name] = f"{source}.{alias.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            use = _attribute_use(node, bound, modules)
            if use:
                uses.append(PrivateUse(importer, node.lineno, *use))
    return sorted(set(uses))


def _attribute_use(
    node: ast.Attribute, bound: dict[str, str], modules: set[str]
) -> tuple[str, str] | None:
    """(module, name) when the attribute chain ``node`` reaches a module's private name."""
    chain: list[str] = []
    value: ast.expr = node
    while isinstance(value, ast.Attribute):
        chain.insert(0, value.attr)
        value = value.value
    if not isinstance(value, ast.Name) or value.id not in bound:
        return None
    module = bound[value.id]
    for attribute in chain:
        if f"{module}.{attribute}" in modules:
            module = f"{module}.{attribute}"
            continue
        return (module, attribute) if is_private(attribute) else None
    return None


def _resolve(node: ast.ImportFrom, package: str) -> str:
    """The absolute name of the module a ``from … import`` reads from."""
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    base = parts[: len(parts) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def module_spec(module: str) -> ModuleSpec:
    """Where a module's source is, found the way import would find it, without running
    any package's __init__ (importlib.util.find_spec would import the parents)."""
    parts = module.split(".")
    spec = PathFinder.find_spec(parts[0])
    for depth in range(2, len(parts) + 1):
        if spec is None:
            break
        spec = PathFinder.find_spec(".".join(parts[:depth]), spec.submodule_search_locations)
    if spec is None or spec.origin is None:
        raise LookupError(f"No source found for {module}.")
    return spec
