"""The system checks of portal/checks.py."""


def test_system_checks_warn_about_the_embedded_defaults_in_production(settings, monkeypatch):
    from portal.checks import check_embedded_defaults

    settings.DEBUG = False
    settings.REDIS_URL = ""
    monkeypatch.setitem(settings.DATABASES["default"], "ENGINE", "django.db.backends.sqlite3")
    ids = {problem.id for problem in check_embedded_defaults(None)}
    assert ids == {"portal.W001", "portal.W002"}
