"""The pip a new virtualenv is given first (requirements-pip.lock) is the one the
development lock pins, hashes included: two files, one release."""

import re

from tests.support import ROOT


def _pins(name: str, package: str) -> tuple[str, list[str]]:
    text = (ROOT / name).read_text()
    found = re.search(rf"^{package}==(\S+)((?:\s*\\\s*--hash=sha256:[0-9a-f]+)+)", text, re.M)
    assert found is not None, f"{name} pins no {package}"
    return found.group(1), sorted(re.findall(r"sha256:([0-9a-f]+)", found.group(2)))


def test_the_first_pip_is_the_development_locks():
    version, hashes = _pins("requirements-pip.lock", "pip")
    assert (version, hashes) == _pins("requirements-dev.lock", "pip")
    assert len(hashes) == 2  # the wheel and the source archive


def test_the_makefile_installs_it_before_either_lock():
    makefile = (ROOT / "Makefile").read_text()
    assert "-r requirements-pip.lock" in makefile
    for lock in ("requirements.lock", "requirements-dev.lock"):
        target = rf"^\$\(VENV\)/\.\w+-installed: {re.escape(lock)} \| (\S+)$"
        rule = re.search(target, makefile, re.M)
        assert rule is not None and rule.group(1) == "$(VENV)/.pip-installed", lock
