"""Quotas: exports waiting per grant, active tokens per grant, open requests per member.

Each refusal says which limit was reached and what frees a place: a page message, or
429 ``quota_exceeded`` from the data API. An identical export request is not refused:
it returns the export already made for it.
"""

import json
import subprocess
import sys
from datetime import date, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from access_requests import quotas, services
from access_requests.models import AccessRequest, Export, ReadToken
from access_requests.services import exports as export_services
from portal.models import AuditEvent
from tests.access_requests.factories import file_request
from tests.access_requests.helpers import PERIOD, grant_for, request_form_data
from tests.support import ROOT

pytestmark = pytest.mark.django_db

# Four different periods inside the grant's February: four different exports.
PERIODS = [
    PERIOD,
    (PERIOD[0], PERIOD[1] - timedelta(days=1)),
    (PERIOD[0] + timedelta(days=1), PERIOD[1]),
    (PERIOD[0] + timedelta(days=1), PERIOD[1] - timedelta(days=1)),
]


@pytest.fixture(autouse=True)
def _no_builds(monkeypatch, export_media):
    """Requests are recorded and stay queued: nothing is handed to Celery."""
    monkeypatch.setattr(export_services, "export_enqueue", lambda *, export_id: True)


@pytest.fixture
def grant(applicant, maintainer):
    return grant_for(applicant, maintainer)


@pytest.fixture
def secret(grant, applicant):
    return services.token_mint(grant=grant, user=applicant, name="quota tests")[1]


def _ask(grant, period=PERIOD, file_format="csv"):
    return export_services.export_request_or_reuse(
        grant=grant, user=grant.grantee, file_format=file_format, first=period[0], last=period[1]
    )


def _post_export(client, secret, period=PERIOD, file_format="csv"):
    body = {"format": file_format, "from": period[0].isoformat(), "to": period[1].isoformat()}
    return client.post(
        "/api/v1/exports",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )


def _messages(response) -> list[str]:
    return [str(message) for message in response.wsgi_request._messages]


# --- the settings --------------------------------------------------------------------------


def test_the_quotas_are_settings_with_documented_defaults(settings):
    assert settings.EXPORT_MAX_QUEUED_PER_GRANT == 3
    assert settings.TOKEN_MAX_ACTIVE_PER_GRANT == 5
    assert settings.ACCESS_REQUEST_MAX_OPEN_PER_MEMBER == 3


def _setting_from_env(name: str, value: str) -> subprocess.CompletedProcess:
    code = (
        f"import django; django.setup(); from django.conf import settings; print(settings.{name})"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"DJANGO_SETTINGS_MODULE": "portal.settings", "DEBUG": "1", name: value},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "name",
    [
        "EXPORT_MAX_QUEUED_PER_GRANT",
        "TOKEN_MAX_ACTIVE_PER_GRANT",
        "ACCESS_REQUEST_MAX_OPEN_PER_MEMBER",
    ],
)
@pytest.mark.slow  # a Django start-up per case
def test_each_quota_is_read_from_the_environment_and_fails_loudly(name):
    assert _setting_from_env(name, "7").stdout.strip() == "7"
    refused = _setting_from_env(name, "0")
    assert refused.returncode != 0 and f"{name}=0 must be at least 1" in refused.stderr


# --- exports -------------------------------------------------------------------------------


def test_an_identical_export_request_returns_the_existing_export(grant):
    first, created = _ask(grant)
    again, created_again = _ask(grant)
    assert created and not created_again and again.pk == first.pk
    assert Export.objects.count() == 1
    assert AuditEvent.objects.filter(action="export.requested").count() == 1
    # Another format, or another period, is another export.
    assert _ask(grant, file_format="parquet")[1]
    assert _ask(grant, period=PERIODS[1])[1]
    assert Export.objects.count() == 3


def test_a_ready_unexpired_export_is_returned_and_an_expired_or_failed_one_is_not(grant):
    export, _ = _ask(grant)
    Export.objects.filter(pk=export.pk).update(
        state=Export.State.READY, expires_at=timezone.now() + timedelta(days=1)
    )
    assert _ask(grant) == (export, False)
    Export.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    newer, created = _ask(grant)
    assert created and newer.pk != export.pk
    Export.objects.filter(pk=newer.pk).update(state=Export.State.FAILED)
    assert _ask(grant)[1]


def test_at_most_three_exports_wait_per_grant(grant):
    waiting = [_ask(grant, period=period)[0] for period in PERIODS[:3]]
    Export.objects.filter(pk=waiting[0].pk).update(state=Export.State.RUNNING)
    with pytest.raises(quotas.QuotaExceeded) as refused:
        _ask(grant, period=PERIODS[3])
    assert refused.value.code == "quota_exceeded"
    assert "already has 3 exports queued or running; at most 3" in refused.value.messages[0]
    assert Export.objects.count() == 3
    # An identical request is still answered with its export, at the limit.
    assert _ask(grant, period=PERIODS[1]) == (waiting[1], False)
    # A finished export frees its place.
    Export.objects.filter(pk=waiting[0].pk).update(
        state=Export.State.READY, expires_at=timezone.now() + timedelta(days=1)
    )
    assert _ask(grant, period=PERIODS[3])[1]


def test_the_export_quota_is_per_grant_and_follows_the_setting(
    grant, other_applicant, maintainer, settings
):
    settings.EXPORT_MAX_QUEUED_PER_GRANT = 1
    _ask(grant)
    with pytest.raises(quotas.QuotaExceeded, match="at most 1 may wait"):
        _ask(grant, period=PERIODS[1])
    theirs = grant_for(other_applicant, maintainer)
    assert _ask(theirs)[1]


def test_the_api_answers_an_identical_request_with_the_existing_export(client, grant, secret):
    first = _post_export(client, secret)
    again = _post_export(client, secret)
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["state"] == "queued"
    assert Export.objects.count() == 1


def test_the_api_refuses_a_fourth_waiting_export_with_429_quota_exceeded(client, grant, secret):
    for period in PERIODS[:3]:
        assert _post_export(client, secret, period=period).status_code == 202
    refused = _post_export(client, secret, period=PERIODS[3])
    assert refused.status_code == 429
    assert refused.json()["error"] == "quota_exceeded"
    assert "at most 3 may wait at once" in refused.json()["message"]
    assert Export.objects.count() == 3


def test_the_page_says_an_identical_export_exists_and_refuses_a_fourth(client, grant):
    client.force_login(grant.grantee)
    url = f"/access/grants/{grant.pk}/exports/"
    client.post(url, {"format": "csv"})
    again = client.post(url, {"format": "csv"})
    assert again.status_code == 302
    assert again.headers["Location"] == f"/access/requests/{grant.request_id}/"
    export = Export.objects.get()
    assert _messages(again)[-1] == (  # messages pile up until a page shows them
        f"Export #{export.pk}, of the same format and period, is already queued: "
        "no new export was made."
    )
    for period in PERIODS[1:3]:
        client.post(url, {"format": "csv", "period_from": period[0], "period_to": period[1]})
    refused = client.post(
        url, {"format": "csv", "period_from": PERIODS[3][0], "period_to": PERIODS[3][1]}
    )
    assert refused.status_code == 302
    assert "at most 3 may wait at once" in _messages(refused)[-1]
    assert Export.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_requests_make_one_export(postgres, applicant, maintainer):
    """The grant row is locked before the check: no two requests both find nothing."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    grant = grant_for(applicant, maintainer)
    barrier = threading.Barrier(8)

    def ask(_):
        barrier.wait()
        try:
            return _ask(grant)[0].pk
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(ask, range(8)))
    assert len(ids) == 1 and Export.objects.count() == 1


# --- read tokens ---------------------------------------------------------------------------


def _mint(grant, name="t", **kwargs):
    return services.token_mint(grant=grant, user=grant.grantee, name=name, **kwargs)


def test_at_most_five_active_tokens_per_grant(grant):
    minted = [_mint(grant, name=f"t{n}")[0] for n in range(5)]
    with pytest.raises(quotas.QuotaExceeded) as refused:
        _mint(grant, name="sixth")
    assert refused.value.code == "quota_exceeded"
    assert "already has 5 active read tokens; at most 5" in refused.value.messages[0]
    assert ReadToken.objects.count() == 5
    services.token_revoke(token=minted[0], user=grant.grantee)
    assert _mint(grant, name="sixth")[0].pk


def test_an_expired_token_frees_its_place(grant):
    tokens = [_mint(grant, name=f"t{n}")[0] for n in range(5)]
    ReadToken.objects.filter(pk=tokens[0].pk).update(expires_at=timezone.now())
    assert _mint(grant, name="replacement")[0].pk


def test_the_token_quota_is_per_grant(grant, other_applicant, maintainer, settings):
    settings.TOKEN_MAX_ACTIVE_PER_GRANT = 1
    _mint(grant)
    with pytest.raises(quotas.QuotaExceeded, match="at most 1 are allowed"):
        _mint(grant)
    assert _mint(grant_for(other_applicant, maintainer))[0].pk


def test_the_page_refuses_a_sixth_token_with_a_clear_message(client, grant):
    for n in range(5):
        _mint(grant, name=f"t{n}")
    client.force_login(grant.grantee)
    refused = client.post(f"/access/grants/{grant.pk}/tokens/", {"name": "sixth"})
    assert refused.status_code == 302
    assert refused.headers["Location"] == f"/access/requests/{grant.request_id}/"
    assert _messages(refused) == [
        f"Grant #{grant.pk} already has 5 active read tokens; at most 5 are allowed. "
        "Revoke one you no longer use, then create the new one."
    ]
    assert ReadToken.objects.count() == 5
    assert not AuditEvent.objects.filter(action="token.minted", after__name="sixth").exists()


# --- access requests -----------------------------------------------------------------------


def test_at_most_three_open_requests_per_member(applicant, maintainer):
    filed = [file_request(applicant, purpose=f"Study {n}") for n in range(3)]
    services.access_request_ask_info(request=filed[0], reviewer=maintainer, message="Who?")
    mail.outbox.clear()
    with pytest.raises(quotas.QuotaExceeded) as refused:
        file_request(applicant, purpose="Fourth")
    assert refused.value.code == "quota_exceeded"
    assert "You have 3 open requests; at most 3" in refused.value.messages[0]
    assert AccessRequest.objects.filter(applicant=applicant).count() == 3
    assert mail.outbox == []  # no maintainer was emailed
    services.access_request_withdraw(request=filed[1], applicant=applicant)
    assert file_request(applicant, purpose="Fourth").pk


def test_decided_requests_do_not_count(applicant, other_applicant, maintainer):
    for n in range(3):
        decided = file_request(applicant, purpose=f"Study {n}")
        if n % 2:
            services.access_request_approve(request=decided, reviewer=maintainer)
        else:
            services.access_request_reject(request=decided, reviewer=maintainer, reason="No.")
    for n in range(3):
        file_request(applicant, purpose=f"Open {n}")
    assert file_request(other_applicant).pk  # another member has their own places


def test_the_request_page_says_so_before_the_form_and_refuses_the_post(client, applicant):
    for n in range(3):
        file_request(applicant, purpose=f"Study {n}")
    client.force_login(applicant)
    expected = (
        "You have 3 open requests; at most 3 may wait for a decision at once. Withdraw one, "
        "or wait for the maintainers to decide, before filing another."
    )
    shown = client.get("/access/request/")
    assert shown.status_code == 302 and shown.headers["Location"] == "/access/"
    assert _messages(shown) == [expected]
    refused = client.post("/access/request/", request_form_data())
    assert refused.status_code == 200
    assert expected in refused.content.decode()
    assert AccessRequest.objects.filter(applicant=applicant).count() == 3


def test_under_the_quota_the_request_form_opens(client, applicant):
    file_request(applicant, period_start=date(2026, 1, 1))
    client.force_login(applicant)
    assert client.get("/access/request/").status_code == 200
