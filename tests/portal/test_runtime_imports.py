"""`make run` installs requirements.lock only: no product module may need a package that
only requirements-dev.lock brings (a type-checking helper, a test library)."""

import re
import subprocess
import sys
from importlib.metadata import packages_distributions

from tests.support import ROOT

APPS = ("portal", "ingest", "access_requests")
# Development tools of their own, never imported by the running portal.
TOOLS = ("portal.import_contracts",)  # import-linter's contract type, read by lint-imports


def _locked(name: str) -> set[str]:
    text = (ROOT / name).read_text()
    return {m.lower().replace("_", "-") for m in re.findall(r"^([A-Za-z0-9_.-]+)==", text, re.M)}


def dev_only_modules() -> list[str]:
    dev_only = _locked("requirements-dev.lock") - _locked("requirements.lock")
    return sorted(
        module
        for module, dists in packages_distributions().items()
        if module.isidentifier() and {d.lower().replace("_", "-") for d in dists} <= dev_only
    )


IMPORT_EVERY_MODULE = f"""
import importlib, os, pkgutil, sys
for name in sys.argv[1:]:
    sys.modules[name] = None  # importing it now raises ImportError
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DEBUG", "1")
import django
django.setup()
for app in {APPS!r}:
    package = importlib.import_module(app)
    for info in pkgutil.walk_packages(package.__path__, app + "."):
        if info.name not in {TOOLS!r}:
            importlib.import_module(info.name)
print("ok")
"""


def test_the_dev_only_list_is_not_empty():
    modules = dev_only_modules()
    assert "django_stubs_ext" in modules and "pytest" in modules, modules


def test_every_product_module_imports_without_the_development_packages():
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERY_MODULE, *dev_only_modules()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]
