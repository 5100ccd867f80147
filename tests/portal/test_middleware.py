"""The middleware of portal/middleware.py: no address reaches a view, a lost database is a 503."""

import pytest


def test_the_middleware_forgets_every_address(rf):
    from portal.middleware import ForgetClientAddressMiddleware

    seen = {}

    def view(request):
        seen.update(request.META)
        from django.http import HttpResponse

        return HttpResponse()

    request = rf.get(
        "/",
        REMOTE_ADDR="198.51.100.77",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
        HTTP_X_REAL_IP="203.0.113.9",
        HTTP_FORWARDED="for=203.0.113.9",
        HTTP_X_ORIGINAL_FORWARDED_FOR="203.0.113.9",  # ingress-nginx
        HTTP_X_ENVOY_EXTERNAL_ADDRESS="203.0.113.9",
    )
    ForgetClientAddressMiddleware(view)(request)
    assert "198.51.100.77" not in str(seen)
    assert "203.0.113.9" not in str(seen)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "json_body"),
    [("/", False), ("/stats/", False), ("/access/register/", False), ("/api/v1/policy", True)],
)
def test_a_lost_database_connection_is_a_503_with_retry_after_not_a_500(
    client, monkeypatch, path, json_body
):
    from django.db import OperationalError
    from django.db.backends.utils import CursorWrapper

    def broken(self, *args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    client.get("/healthz")  # the client is set up before the database goes away
    monkeypatch.setattr(CursorWrapper, "execute", broken)
    response = client.get(path)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    if json_body:
        assert response.json()["error"] == "database_unavailable"
    else:
        assert "Temporarily unavailable" in response.content.decode()
