"""The system checks of portal/checks.py."""


def test_system_checks_warn_about_the_embedded_defaults_in_production(settings, monkeypatch):
    from portal.checks import check_embedded_defaults

    settings.DEBUG = False
    settings.REDIS_URL = ""
    monkeypatch.setitem(settings.DATABASES["default"], "ENGINE", "django.db.backends.sqlite3")
    ids = {problem.id for problem in check_embedded_defaults(None)}
    assert ids == {"portal.W001", "portal.W002"}


def test_a_placeholder_left_in_the_settings_is_a_deployment_warning(settings, monkeypatch):
    from portal.checks import check_placeholders

    assert check_placeholders(None) == []
    settings.EXPORT_S3_BUCKET = "CHANGE-ME"
    settings.METRICS_TOKEN = "change-me"
    monkeypatch.setitem(settings.DATABASES["default"], "PASSWORD", "CHANGE-ME")
    (warning,) = check_placeholders(None)
    assert warning.id == "portal.W011"
    for name in ("EXPORT_S3_BUCKET", "METRICS_TOKEN", "DATABASES"):
        assert name in warning.msg
    assert "CHANGE-ME" not in warning.msg.split(":", 1)[1]  # names, never values


def test_a_placeholder_nested_in_a_list_is_found_too(settings):
    from portal.checks import check_placeholders

    settings.ALLOWED_HOSTS = ["telemetry.example.org", "CHANGE-ME.example.org"]
    assert [m.id for m in check_placeholders(None)] == ["portal.W011"]
