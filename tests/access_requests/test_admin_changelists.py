"""Every admin changelist that shows a foreign key costs the same queries for 1 row as for many."""

from datetime import date, timedelta

import pytest
from allauth.mfa.models import Authenticator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from access_requests import services
from access_requests.models import AccessRequest
from access_requests.services import exports as export_services
from ingest.models import PolicyVersion
from ingest.services import policy_version_draft, policy_version_publish
from tests.access_requests.factories import UserFactory, file_request

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    "/admin/access_requests/accessrequest/",
    "/admin/access_requests/grant/",
    "/admin/access_requests/profile/",
    "/admin/access_requests/readtoken/",
    "/admin/access_requests/export/",
    "/admin/ingest/policyversion/",
    "/admin/mfa/authenticator/",
]


@pytest.fixture
def world(monkeypatch, maintainer, superuser):
    """Adds one member with a row on every changelist (and a policy version) per call."""
    monkeypatch.setattr(export_services, "export_enqueue", lambda *, export_id: True)
    members = []

    def add_member() -> None:
        member = UserFactory(username=f"member{len(members)}")
        members.append(member)
        filed = file_request(member, period_start=date(2026, 1, 1), period_end=date(2026, 1, 31))
        grant = services.access_request_approve(request=filed, reviewer=maintainer)
        services.profile_update(user=member, display_name=member.username, affiliation="Org")
        services.token_mint(grant=grant, user=member, name="notebook")
        services.export_request(grant=grant, user=member, file_format="csv")
        Authenticator.objects.create(
            user=member, type=Authenticator.Type.TOTP, data={"secret": "not-a-real-secret"}
        )
        draft = policy_version_draft(source=PolicyVersion.objects.first(), actor=superuser)
        policy_version_publish(version=draft, actor=member)

    return superuser, add_member


def _queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(captured)


def test_every_changelist_costs_the_same_queries_for_one_row_as_for_three(client, world):
    superuser, add_member = world
    client.force_login(superuser)
    add_member()
    with_one = {path: _queries(client, path) for path in CHANGELISTS}
    add_member()
    add_member()
    with_three = {path: _queries(client, path) for path in CHANGELISTS}
    assert with_three == with_one  # a changelist that grows names itself in the diff


def test_the_overdue_filter_and_column_show_what_the_digest_sends(client, world, settings):
    superuser, add_member = world
    add_member()
    settings.ACCESS_REVIEW_SLA_DAYS = 5
    pending = file_request(UserFactory(username="late"), purpose="Waiting too long")
    AccessRequest.objects.filter(pk=pending.pk).update(
        created_at=timezone.now() - timedelta(days=6)
    )
    client.force_login(superuser)
    response = client.get("/admin/access_requests/accessrequest/?age=overdue")
    shown = list(response.context["cl"].result_list)
    assert [row.pk for row in shown] == [pending.pk]
    assert [row.is_overdue for row in shown] == [True]
    assert services.review_digest_send() == [pending.pk]
    everything = client.get("/admin/access_requests/accessrequest/?status=all")
    everything = everything.context["cl"].result_list
    assert {row.pk: row.is_overdue for row in everything} == {
        row.pk: row.pk == pending.pk for row in AccessRequest.objects.all()
    }
