"""The typed environment readers of portal/env.py: they parse, or stop with the name."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.env import envbool, envint, envlist, envstr


def test_envbool_reads_the_usual_spellings(monkeypatch):
    monkeypatch.setenv("FLAG", "yes")
    assert envbool("FLAG", False) is True
    monkeypatch.setenv("FLAG", "0")
    assert envbool("FLAG", True) is False
    monkeypatch.delenv("FLAG")
    assert envbool("FLAG", True) is True


@pytest.mark.parametrize(("reader", "value"), [(envbool, "maybe"), (envint, "ten")])
def test_a_bad_value_fails_loudly_naming_the_variable(monkeypatch, reader, value):
    monkeypatch.setenv("SETTING_UNDER_TEST", value)
    with pytest.raises(ImproperlyConfigured, match="SETTING_UNDER_TEST"):
        reader("SETTING_UNDER_TEST", 1)


def test_envint_enforces_its_minimum(monkeypatch):
    monkeypatch.setenv("DAYS", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        envint("DAYS", 365, minimum=1)


def test_secrets_can_come_from_a_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("TOKEN_FILE", str(secret))
    assert envstr("TOKEN") == "from-a-file"


def test_envlist_splits_on_commas(monkeypatch):
    monkeypatch.setenv("HOSTS", "a.example, b.example,,")
    assert envlist("HOSTS", []) == ["a.example", "b.example"]
