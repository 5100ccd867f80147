"""Tokens and the data API: a grant reads its elements in its period, and nothing else."""

import base64
import json
from datetime import timedelta

import pytest
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from access_requests import services, tokens
from access_requests.models import ReadToken
from ingest.catalogue import REPORT_CATALOGUE
from ingest.models import DailyRollup, Report
from portal.models import AuditEvent
from tests.access_requests.helpers import PERIOD, data_api_get, grant_for
from tests.ingest.factories import report_row
from tests.support import pg_dump

pytestmark = pytest.mark.django_db


@pytest.fixture
def reports():
    rows = []
    for offset in range(-5, 40):  # January 27 to March 11: around the granted February
        day = PERIOD[0] + timedelta(days=offset)
        for n in range(3):
            rows.append(report_row(f"install{n}", day, release="v1.9.4" if n else "v1.10.0"))
    Report.objects.bulk_create(rows)
    DailyRollup.objects.bulk_create(
        DailyRollup(
            day=PERIOD[0] + timedelta(days=o),
            dimension="addon",
            value="fluxcd",
            installations=3,
        )
        for o in range(-3, 33)
    )


@pytest.fixture
def narrow(applicant, maintainer):
    return grant_for(applicant, maintainer)


@pytest.fixture
def narrow_token(narrow, applicant):
    return services.token_mint(grant=narrow, user=applicant, name="notebook")


# --- the token format ------------------------------------------------------------------


def test_tokens_are_prefixed_checksummed_and_random():
    secret = tokens.token_generate()
    assert secret.startswith("tvt_") and len(secret) == tokens.TOKEN_LENGTH
    assert tokens.token_is_well_formed(secret)
    typo = secret[:10] + ("A" if secret[10] != "A" else "B") + secret[11:]
    assert not tokens.token_is_well_formed(typo)
    assert len({tokens.token_generate() for _ in range(200)}) == 200
    assert tokens.RANDOM_LENGTH * 5.95 >= 128  # log2(62) bits per character


def test_only_a_hash_is_stored(narrow_token):
    token, secret = narrow_token
    assert token.token_hash == tokens.token_hash(secret)
    stored = json.dumps(list(ReadToken.objects.values()), default=str)
    assert secret not in stored and secret[4:] not in stored
    events = json.dumps(list(AuditEvent.objects.values()), default=str)
    assert secret[4:20] not in events


@pytest.mark.django_db(transaction=True)
def test_a_database_dump_after_minting_holds_no_token_secret(postgres, applicant, maintainer):
    grant = grant_for(applicant, maintainer)
    secrets = [services.token_mint(grant=grant, user=applicant, name=f"t{i}")[1] for i in range(3)]
    dump = pg_dump()
    assert "tvt_" in dump  # the prefixes are there, for recognition
    for secret in secrets:
        assert secret not in dump
        assert secret[len(tokens.PREFIX) :] not in dump


def test_a_token_cannot_outlive_its_grant(narrow, applicant):
    with pytest.raises(ValidationError, match="cannot outlive"):
        services.token_mint(
            grant=narrow, user=applicant, name="x", expires_at=narrow.expires_at + timedelta(days=1)
        )
    assert not ReadToken.objects.exists()
    assert not AuditEvent.objects.filter(action="token.minted").exists()


def test_only_the_grantee_mints(narrow, other_applicant):
    with pytest.raises(PermissionDenied, match="Only the grantee"):
        services.token_mint(grant=narrow, user=other_applicant, name="x")
    assert not ReadToken.objects.exists()
    assert not AuditEvent.objects.filter(action="token.minted").exists()


# --- answers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "not_authenticated"),
        ("Bearer", "malformed_token"),
        ("Token abc", "malformed_token"),
        ("Bearer tvt_short", "malformed_token"),
        ("Bearer " + "tvt_" + "a" * 36, "malformed_token"),
    ],
)
def test_no_or_malformed_token_gets_401(client, reports, header, code):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/api/v1/data/reports", **extra)
    assert response.status_code == 401
    assert response.json()["error"] == code
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_well_formed_unknown_token_gets_401(client):
    response = data_api_get(client, tokens.token_generate())
    assert (response.status_code, response.json()["error"]) == (401, "unknown_token")


def test_a_page_holds_only_granted_elements_in_the_granted_period(client, reports, narrow_token):
    _, secret = narrow_token
    response = data_api_get(client, secret)
    assert response.status_code == 200
    page = response.json()
    assert page["fields"] == ["installation", "date", "release", "git_commit", "addons"]
    assert page["count"] == 28 * 3
    for row in page["results"]:
        assert set(row) == set(page["fields"])
        assert PERIOD[0].isoformat() <= row["date"] <= PERIOD[1].isoformat()
        assert not row["installation"].startswith("install")
    body = response.content.decode()
    for forbidden in ("install0", "platform_id", "cluster_count", "chrome", "1920", "webservice"):
        assert forbidden not in body


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"from": "2026-01-31"}, 403, "outside_grant"),
        ({"to": "2026-03-01"}, 403, "outside_grant"),
        ({"from": "2025-01-01", "to": "2027-01-01"}, 403, "outside_grant"),
        ({"from": "2026-02-10", "to": "2026-02-01"}, 400, "invalid_parameter"),
        ({"from": "yesterday"}, 400, "invalid_parameter"),
        ({"limit": "0"}, 400, "invalid_parameter"),
        ({"limit": "1001"}, 400, "invalid_parameter"),
        ({"limit": "-5"}, 400, "invalid_parameter"),
        ({"cursor": "garbage"}, 400, "invalid_parameter"),
    ],
)
def test_reads_outside_the_grant_are_refused_clearly(
    client, reports, narrow_token, params, status, code
):
    response = data_api_get(client, narrow_token[1], **params)
    assert response.status_code == status
    assert response.json()["error"] == code
    if status == 403:
        assert "2026-02-01 to 2026-02-28" in response.json()["message"]
    else:  # the message names the parameter at fault
        assert next(iter(params)) in response.json()["message"]


def test_a_forged_cursor_cannot_reach_outside_the_period(client, reports, narrow_token):
    _, secret = narrow_token
    grant_id = narrow_token[0].grant_id
    for forged in (
        base64.b64encode(b'["2025-01-01", 0]').decode(),
        signing.dumps([grant_id, "2025-01-01", 0], salt="another-salt"),
        signing.dumps([grant_id + 1, "2026-02-01", 0], salt="data-reports-cursor"),
    ):
        response = data_api_get(client, secret, cursor=forged)
        assert response.status_code == 400, forged
    # a genuine cursor moved before the period still only yields rows inside it
    early = signing.dumps([grant_id, "2020-01-01", 0], salt="data-reports-cursor")
    rows = data_api_get(client, secret, cursor=early).json()["results"]
    assert rows and all(r["date"] >= PERIOD[0].isoformat() for r in rows)


def test_keyset_pages_cover_the_period_exactly_once(client, reports, narrow_token):
    _, secret = narrow_token
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": "10"} | ({"cursor": cursor} if cursor else {})
        page = data_api_get(client, secret, **params).json()
        seen += [(r["date"], r["installation"]) for r in page["results"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 28 * 3
    assert pages == 9


def test_the_release_filter_works_and_needs_the_version_element(
    client, reports, narrow_token, applicant, maintainer
):
    rows = data_api_get(client, narrow_token[1], release="v1.10.0").json()["results"]
    assert rows and {r["release"] for r in rows} == {"v1.10.0"}
    grant = grant_for(applicant, maintainer, elements=("platformID", "enableAddonList"))
    _, secret = services.token_mint(grant=grant, user=applicant, name="no-version")
    response = data_api_get(client, secret, release="v1.10.0")
    assert response.status_code == 403
    assert "version" in response.json()["message"]
    assert "release" not in data_api_get(client, secret).json()["fields"]


def test_pseudonyms_are_stable_within_a_grant_and_differ_across_grants(
    client, reports, narrow_token, applicant, maintainer
):
    first = data_api_get(client, narrow_token[1]).json()["results"]
    again = data_api_get(client, narrow_token[1]).json()["results"]
    assert [r["installation"] for r in first] == [r["installation"] for r in again]
    assert len({r["installation"] for r in first}) == 3
    other = grant_for(applicant, maintainer)
    _, secret = services.token_mint(grant=other, user=applicant, name="second")
    second = data_api_get(client, secret).json()["results"]
    assert not {r["installation"] for r in first} & {r["installation"] for r in second}


def test_rollups_of_the_grant(client, reports, narrow_token):
    response = data_api_get(client, narrow_token[1], "/api/v1/data/rollups/addon")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert len(rows) == 28 and all(r["value"] == "fluxcd" for r in rows)
    outside = data_api_get(client, narrow_token[1], "/api/v1/data/rollups/browser")
    assert outside.status_code == 403 and "browserInfo" in outside.json()["message"]
    assert data_api_get(client, narrow_token[1], "/api/v1/data/rollups/nope").status_code == 404


def test_a_grant_without_reports_cannot_read_reports(client, applicant, maintainer):
    grant = grant_for(applicant, maintainer, datasets=("rollups",))
    _, secret = services.token_mint(grant=grant, user=applicant, name="rollups only")
    response = data_api_get(client, secret)
    assert response.status_code == 403
    assert "daily reports" in response.json()["message"]


# --- revocation ---------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["token", "grant", "user", "token_expiry", "grant_expiry"])
def test_revoking_stops_the_token_at_once(client, reports, narrow_token, maintainer, how):
    token, secret = narrow_token
    assert data_api_get(client, secret).status_code == 200
    if how == "token":
        services.token_revoke(token=token, user=token.user)
    elif how == "grant":
        services.grant_revoke(grant=token.grant, actor=maintainer, reason="Done.")
    elif how == "user":
        token.user.is_active = False
        token.user.save()
    elif how == "token_expiry":
        ReadToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
    else:
        type(token.grant).objects.filter(pk=token.grant_id).update(expires_at=timezone.now())
    response = data_api_get(client, secret)
    assert response.status_code == 401
    assert (
        response.json()["error"]
        == {
            "token": "token_revoked",
            "grant": "grant_revoked",
            "user": "user_inactive",
            "token_expiry": "token_expired",
            "grant_expiry": "grant_expired",
        }[how]
    )


# --- audit ----------------------------------------------------------------------------------


def test_every_read_is_audited_and_the_grantee_sees_only_their_own(
    client, reports, narrow_token, other_applicant, maintainer
):
    token, secret = narrow_token
    data_api_get(client, secret, limit="5")
    data_api_get(client, secret, "/api/v1/data/rollups/addon")
    reads = AuditEvent.objects.filter(action="data.read").order_by("id")
    assert [(r.details["endpoint"], r.details["rows"]) for r in reads] == [
        ("/api/v1/data/reports", 5),
        ("/api/v1/data/rollups/addon", 28),
    ]
    assert reads[0].details["token"] == token.prefix
    assert reads[0].details["parameters"] == {"limit": "5"}
    assert reads[0].actor == token.user

    bobs_grant = grant_for(other_applicant, maintainer)
    _, bobs_secret = services.token_mint(grant=bobs_grant, user=other_applicant, name="bob")
    data_api_get(client, bobs_secret, limit="7")

    client.force_login(token.user)
    page = client.get(f"/access/requests/{token.grant.request_id}/").content.decode()
    assert page.count("/api/v1/data/") >= 2 and ">5<" in page
    assert ">7<" not in page
    client.force_login(other_applicant)
    assert client.get(f"/access/requests/{token.grant.request_id}/").status_code == 404
    bobs_page = client.get(f"/access/requests/{bobs_grant.request_id}/").content.decode()
    assert ">7<" in bobs_page and ">5<" not in bobs_page


def test_the_rate_limit_answers_429_with_retry_after(client, reports, narrow_token, settings):
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    previous = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {
        **api_settings.DEFAULT_THROTTLE_RATES,
        "data_token": "2/min",
    }
    try:
        assert data_api_get(client, narrow_token[1], limit="1").status_code == 200
        assert data_api_get(client, narrow_token[1], limit="1").status_code == 200
        response = data_api_get(client, narrow_token[1], limit="1")
    finally:
        SimpleRateThrottle.THROTTLE_RATES = previous
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"] == "throttled"


# --- the pages --------------------------------------------------------------------------------


def test_minting_on_the_page_shows_the_token_once(client, narrow, applicant):
    client.force_login(applicant)
    response = client.post(f"/access/grants/{narrow.pk}/tokens/", {"name": "laptop"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = response.context["secret"]
    assert tokens.token_is_well_formed(secret)
    assert secret in response.content.decode()  # in the field and in the curl command
    listing = client.get(f"/access/requests/{narrow.request_id}/").content.decode()
    assert secret not in listing
    assert secret[:10] in listing  # the prefix, for recognition
    token = ReadToken.objects.get()
    client.post(f"/access/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_nobody_mints_or_revokes_on_anothers_grant(client, narrow, narrow_token, other_applicant):
    client.force_login(other_applicant)
    assert client.post(f"/access/grants/{narrow.pk}/tokens/", {"name": "x"}).status_code == 404
    token, _ = narrow_token
    assert client.post(f"/access/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_schema_and_the_docs_are_served_locally(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    for path in (
        "/collecting",
        "/api/v1/reports",
        "/api/v1/policy",
        "/api/v1/stats/",
        "/api/v1/data/reports",
        "/api/v1/data/rollups/{dimension}",
    ):
        assert f"{path}:" in text
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs
    assert "cdn" not in docs.lower() and "https://" not in docs


def test_a_row_carries_its_date_and_pseudonym_without_those_elements(
    client, reports, applicant, maintainer
):
    # Defect 3: a grant of version alone once gave rows that could be neither dated nor
    # told apart. The row's key is in every row, whatever was granted.
    grant = grant_for(applicant, maintainer, elements=("version",))
    assert not {"platformID", "requestTime"} & set(grant.elements)
    _, secret = services.token_mint(grant=grant, user=applicant, name="version only")
    page = data_api_get(client, secret).json()
    assert page["fields"] == ["installation", "date", "release", "git_commit"]
    assert page["count"] == 28 * 3
    days = {row["date"] for row in page["results"]}
    assert min(days) == PERIOD[0].isoformat() and max(days) == PERIOD[1].isoformat()
    installations = {row["installation"] for row in page["results"]}
    assert len(installations) == 3
    assert all(len(name) == 32 and not name.startswith("install") for name in installations)
    assert all(set(row) == set(page["fields"]) for row in page["results"])


def test_the_schema_says_every_row_has_its_date_and_installation():
    document = SchemaGenerator().get_schema(request=None, public=True)
    assert "(/dictionary/)" in document["info"]["description"]
    schema = document["components"]["schemas"]
    page = schema["ReportPage"]["properties"]["results"]
    assert page["items"] == {"$ref": "#/components/schemas/ReportRow"}
    row = schema["ReportRow"]
    assert sorted(row["required"]) == ["date", "installation"]
    assert list(row["properties"]) == [c.output for c in REPORT_CATALOGUE.columns]
    for name in ("date", "installation"):
        assert not row["properties"][name].get("nullable")
        assert row["properties"][name]["description"].startswith("In every row.")
    assert row["properties"]["release"]["nullable"] is True
    assert "<500" in row["properties"]["cluster_count_bucket"]["description"]
