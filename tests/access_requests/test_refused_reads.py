"""Refused data reads are audited: the reason, the endpoint, the token or account where
known, never a secret; and a flood of refusals writes a bounded number of rows."""

import json
from datetime import date, timedelta

import pytest
from django.utils import timezone

from access_requests import services, tokens
from access_requests.models import Export, ReadToken
from portal.models import AuditEvent
from tests.access_requests.factories import file_request

pytestmark = pytest.mark.django_db
REPORTS = "/api/v1/data/reports"


@pytest.fixture
def grant(applicant, maintainer):
    filed = file_request(
        applicant,
        elements=["platformID", "requestTime", "version"],
        period_start=date(2026, 1, 1),
        period_end=date(2026, 6, 30),
    )
    return services.access_request_approve(
        request=filed,
        reviewer=maintainer,
        period_start=date(2026, 2, 1),
        period_end=date(2026, 2, 28),
    )


@pytest.fixture
def token(grant, applicant):
    return services.token_mint(grant=grant, user=applicant, name="notebook")


def _get(client, path=REPORTS, header=None, **params):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    return client.get(path, params, **extra)


def _refusals():
    return list(AuditEvent.objects.filter(action="data.read_refused").order_by("id"))


def _no_secret_in_the_audit_log(*secrets: str) -> None:
    everything = json.dumps(list(AuditEvent.objects.values()), default=str)
    for secret in secrets:
        assert secret not in everything


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "not_authenticated"),
        ("Token abc", "malformed_token"),
        ("Bearer tvt_short", "malformed_token"),
    ],
)
def test_a_read_without_a_usable_token_is_audited_as_anonymous(client, header, reason):
    assert _get(client, header=header).status_code == 401
    (event,) = _refusals()
    assert (event.actor, event.actor_label, event.details["reason"]) == (None, "anonymous", reason)
    assert event.details["endpoint"] == REPORTS and event.details["status"] == 401
    assert event.details["token"] is None


def test_an_unknown_token_is_audited_without_any_of_it(client):
    secret = tokens.token_generate()
    assert _get(client, header=f"Bearer {secret}").status_code == 401
    (event,) = _refusals()
    assert event.details["reason"] == "unknown_token"
    _no_secret_in_the_audit_log(
        secret, tokens.token_hash(secret), tokens.token_display_prefix(secret)
    )


@pytest.mark.parametrize("how", ["token_revoked", "token_expired", "grant_revoked"])
def test_a_dead_token_is_audited_with_its_id_and_prefix(client, token, maintainer, how):
    row, secret = token
    if how == "token_revoked":
        services.token_revoke(token=row, user=row.user)
    elif how == "token_expired":
        ReadToken.objects.filter(pk=row.pk).update(expires_at=timezone.now())
    else:
        services.grant_revoke(grant=row.grant, actor=maintainer, reason="Done.")
    assert _get(client, header=f"Bearer {secret}").status_code == 401
    (event,) = _refusals()
    assert event.details["reason"] == how
    assert (event.target_type, event.target_id) == ("access_requests.readtoken", str(row.pk))
    assert event.actor == row.user
    assert (event.details["token"], event.details["grant"]) == (row.prefix, row.grant_id)
    _no_secret_in_the_audit_log(secret, row.token_hash)


def test_a_read_outside_the_grant_is_audited_with_what_was_asked(client, token):
    row, secret = token
    response = _get(client, header=f"Bearer {secret}", **{"from": "2026-01-01"})
    assert response.status_code == 403
    (event,) = _refusals()
    assert event.details["reason"] == "outside_grant" and event.details["status"] == 403
    assert event.details["parameters"] == {"from": "2026-01-01"}
    assert event.target_id == str(row.pk)
    _no_secret_in_the_audit_log(secret)


def test_reads_that_succeed_or_are_malformed_write_no_refusal(client, token):
    _, secret = token
    assert _get(client, header=f"Bearer {secret}").status_code == 200
    assert _get(client, header=f"Bearer {secret}", limit="0").status_code == 400
    assert _refusals() == []


@pytest.mark.slow
def test_a_flood_of_refusals_writes_one_row_per_reason_and_credential_a_minute(client, token):
    _, secret = token
    for _ in range(50):
        _get(client, "/api/v1/data/rollups/\x00" + "x" * 5000)  # long, and a NUL jsonb refuses
        _get(client, header=f"Bearer {tokens.token_generate()}")  # a new unknown token each
        _get(client)
        _get(client, header=f"Bearer {secret}", **{"from": "2025-01-01"})
    assert sorted(e.details["reason"] for e in _refusals()) == [
        "not_authenticated",
        "outside_grant",
        "unknown_token",
    ]
    assert all(len(e.details["endpoint"]) <= 200 for e in _refusals())

    # A minute later each kind is recorded again, once.
    AuditEvent.objects.update(occurred_at=timezone.now() - timedelta(seconds=61))
    for _ in range(5):
        _get(client)
        _get(client, header=f"Bearer {secret}", **{"from": "2025-01-01"})
    assert len(_refusals()) == 5


def test_each_token_has_its_own_window(client, token, grant, applicant):
    _, first = token
    _, second = services.token_mint(grant=grant, user=applicant, name="second")
    for secret in (first, second, first, second):
        _get(client, header=f"Bearer {secret}", **{"from": "2025-01-01"})
    assert len(_refusals()) == 2


def test_refused_export_reads_on_the_api_are_audited(client, token, other_applicant, maintainer):
    _, secret = token
    elsewhere = _export(_other_grant(other_applicant, maintainer), other_applicant)
    for path in (f"/api/v1/exports/{elsewhere.pk}", f"/api/v1/exports/{elsewhere.pk}/download"):
        assert _get(client, path, header=f"Bearer {secret}").status_code == 404
    assert _get(client, f"/api/v1/exports/{elsewhere.pk}/download").status_code == 401
    reasons = [(e.details["reason"], e.details["status"]) for e in _refusals()]
    assert reasons == [("not_found", 404), ("not_authenticated", 401)]  # coalesced per token


def test_refused_downloads_on_the_page_are_audited_with_the_account(
    client, grant, applicant, other_applicant, maintainer
):
    mine = _export(grant, applicant)
    theirs = _export(_other_grant(other_applicant, maintainer), other_applicant)
    client.force_login(applicant)
    assert client.get(f"/access/exports/{theirs.pk}/download/").status_code == 404
    services.grant_revoke(grant=grant, actor=maintainer, reason="Done.")
    assert client.get(f"/access/exports/{mine.pk}/download/").status_code == 302
    events = _refusals()
    assert [(e.details["reason"], e.details["export"], e.actor) for e in events] == [
        ("not_found", theirs.pk, applicant),
        ("grant_inactive", mine.pk, applicant),
    ]


def _other_grant(user, maintainer):
    filed = file_request(user, period_start=date(2026, 1, 1), period_end=date(2026, 6, 30))
    return services.access_request_approve(request=filed, reviewer=maintainer)


def _export(grant, user) -> Export:
    return Export.objects.create(
        grant=grant,
        requested_by=user,
        format="csv",
        period_start=grant.period_start,
        period_end=grant.period_end,
        state=Export.State.READY,
        file_name="none.csv.gz",
        expires_at=timezone.now() + timedelta(days=1),
    )
