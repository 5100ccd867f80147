"""The private-names contract (portal/import_contracts.py) finds every way of reaching
another package's private name, and nothing else."""

import textwrap

import grimp
import pytest
from importlinter.domain.contract import InvalidContractOptions

from portal.import_contracts import PrivateNamesContract

SOURCES = {
    "shop/__init__.py": "",
    "shop/ledger.py": """
        _RATE = 3
        cache = object()

        def _balance():
            return _RATE
    """,
    "shop/till.py": """
        from shop.ledger import _balance  # its own package: allowed unless boundary=module
    """,
    "shop/sub/__init__.py": "",
    "shop/sub/drawer.py": """
        from ..ledger import _RATE  # relative, still inside shop
    """,
    "thief/__init__.py": "",
    "thief/by_name.py": """
        from shop.ledger import _balance, cache
    """,
    "thief/by_attribute.py": """
        from shop import ledger as books

        def steal():
            return books._balance() + books._RATE
    """,
    "thief/by_path.py": """
        import shop.ledger

        total = shop.ledger._balance()
    """,
    "thief/innocent.py": """
        import shop.ledger
        from shop.ledger import cache

        name = shop.ledger.__name__  # a dunder is public
        secret = cache._private  # an object's attribute, not a module's name

        class Counter:
            def count(self):
                return self._count
    """,
}


@pytest.fixture
def graph(tmp_path, monkeypatch):
    for path, source in SOURCES.items():
        file = tmp_path / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    return grimp.build_graph("shop", "thief", cache_dir=None)


def _breaches(graph, **options) -> list[str]:
    contract = PrivateNamesContract(
        name="private names",
        session_options={"root_packages": ["shop", "thief"]},
        contract_options=options,
    )
    check = contract.check(graph, verbose=False)
    breaches = check.metadata["breaches"]
    assert check.kept == (not breaches)
    return [f"{b['importer']}:{b['line']} {b['module']}.{b['name']}" for b in breaches]


def test_it_finds_private_names_taken_from_another_package_by_name_or_attribute(graph):
    assert _breaches(graph) == [
        "thief.by_attribute:5 shop.ledger._RATE",
        "thief.by_attribute:5 shop.ledger._balance",
        "thief.by_name:2 shop.ledger._balance",
        "thief.by_path:4 shop.ledger._balance",
    ]


def test_with_the_module_boundary_a_private_name_may_not_leave_its_module(graph):
    breaches = _breaches(graph, boundary="module")
    assert "shop.till:2 shop.ledger._balance" in breaches
    assert "shop.sub.drawer:2 shop.ledger._RATE" in breaches
    assert len(breaches) == 6


def test_only_the_listed_containers_are_kept_apart(graph):
    assert _breaches(graph, containers=["shop"]) == []  # thief is in no container


def test_an_unknown_boundary_is_refused():
    with pytest.raises(InvalidContractOptions):
        PrivateNamesContract(
            name="private names",
            session_options={"root_packages": ["shop"]},
            contract_options={"boundary": "app"},
        )
