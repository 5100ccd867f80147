"""/healthz (liveness) and /readyz (readiness)."""

import pytest


def test_healthz_answers_without_touching_the_database(client):
    """No django_db mark: any query here would raise."""
    response = client.get("/healthz")
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_the_database_and_redis(client, settings):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"
    if settings.REDIS_URL:
        assert response.json()["checks"]["redis"] == "ok"


@pytest.mark.django_db
def test_readyz_fails_when_the_database_does_not_answer(client, monkeypatch):
    from portal import views

    monkeypatch.setattr(views, "_database_ready", lambda: False)
    response = client.get("/readyz")
    assert response.status_code == 503
    answer = response.json()
    assert answer["status"] == "unavailable"
    assert answer["checks"].pop("database") == "failing"
    assert set(answer["checks"].values()) <= {"ok"}  # Redis, when configured, still answers
    assert response["Retry-After"] == "10"
