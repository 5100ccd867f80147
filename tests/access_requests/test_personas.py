"""Every page and admin action of the access process, against every persona.

Each row: (name, method, url template, expected status per persona). ``{req}`` is
alice's pending request, ``{grant}`` a grant of bob's, ``{event}`` an audit row.
A 302 for a protected page means "sent to log in"; the access checks below make
sure it never leaks content instead.
"""

import pytest

from access_requests import services
from access_requests.models import AccessRequest
from portal.models import AuditEvent
from tests.access_requests.factories import UserFactory, file_request

pytestmark = pytest.mark.django_db
PERSONAS = ("anonymous", "unverified", "applicant", "other", "maintainer", "auditor", "superuser")

#         name                         method  url                                                   anon unver appl other maint audit super
MATRIX = [
    ("access home",                    "get",  "/access/",                                            200, 200, 200, 200, 200, 200, 200),
    ("request form",                   "get",  "/access/request/",                                    302, 302, 200, 200, 200, 200, 200),
    ("register",                       "get",  "/access/register/",                                   200, 200, 200, 200, 200, 200, 200),
    ("profile",                        "get",  "/accounts/profile/",                                  302, 200, 200, 200, 200, 200, 200),
    ("withdraw alice's request",       "post", "/access/requests/{req}/withdraw/",                    302, 404, 302, 404, 404, 404, 404),
    ("answer alice's request",         "post", "/access/requests/{req}/answer/",                      302, 404, 302, 404, 404, 404, 404),
    ("review queue",                   "get",  "/admin/access_requests/accessrequest/",               302, 302, 302, 302, 200, 200, 200),
    ("request detail",                 "get",  "/admin/access_requests/accessrequest/{req}/change/",  302, 302, 302, 302, 200, 200, 200),
    ("approve form",                   "get",  "/admin/access_requests/accessrequest/{req}/approve/", 302, 302, 302, 302, 200, 403, 200),
    ("reject",                         "post", "/admin/access_requests/accessrequest/{req}/reject/",  302, 302, 302, 302, 302, 403, 302),
    ("ask for information",            "post", "/admin/access_requests/accessrequest/{req}/ask-info/", 302, 302, 302, 302, 302, 403, 302),
    ("revoke form",                    "get",  "/admin/access_requests/grant/{grant}/revoke/",        302, 302, 302, 302, 200, 403, 200),
    ("grants",                         "get",  "/admin/access_requests/grant/",                       302, 302, 302, 302, 200, 200, 200),
    ("audit log",                      "get",  "/admin/portal/auditevent/",                           302, 302, 302, 302, 200, 200, 200),
    ("delete an audit row",            "post", "/admin/portal/auditevent/{event}/delete/",            302, 302, 302, 302, 403, 403, 403),
    ("roles",                          "get",  "/admin/auth/group/",                                  302, 302, 302, 302, 403, 200, 200),
    ("create a role",                  "post", "/admin/auth/group/add/",                              302, 302, 302, 302, 403, 403, 302),
    ("policy versions",                "get",  "/admin/ingest/policyversion/",                        302, 302, 302, 302, 200, 200, 200),
]  # fmt: skip


@pytest.fixture
def world(django_user_model):
    from tests.personas import ensure_roles

    ensure_roles()
    people = {
        "anonymous": None,
        "unverified": UserFactory(username="uma", verified=False),
        "applicant": UserFactory(username="alice"),
        "other": UserFactory(username="bob"),
        "maintainer": UserFactory(username="maria", is_staff=True, groups=["maintainers"]),
        "auditor": UserFactory(username="audrey", is_staff=True, groups=["auditors"]),
        "superuser": UserFactory(username="sam", is_staff=True, is_superuser=True),
    }
    pending = file_request(people["applicant"])
    bobs = file_request(people["other"])
    grant = services.access_request_approve(request=bobs, reviewer=people["maintainer"])
    return {
        "people": people,
        "req": pending.pk,
        "grant": grant.pk,
        "event": AuditEvent.objects.first().pk,
    }


POST_DATA = {"reason": "Because the matrix says so.", "message": "An answer.", "name": "x"}


CASES = [
    pytest.param(row, persona, row[3 + index], id=f"{row[0]}|{persona}")
    for row in MATRIX
    for index, persona in enumerate(PERSONAS)
]
MAY_CHANGE = {
    ("reject", "maintainer"),
    ("reject", "superuser"),
    ("ask for information", "maintainer"),
    ("ask for information", "superuser"),
    ("withdraw alice's request", "applicant"),
}


@pytest.mark.parametrize(("row", "persona", "expected"), CASES)
def test_each_persona_gets_exactly_what_its_role_allows(client, world, row, persona, expected):
    name, method, url = row[:3]
    user = world["people"][persona]
    if user is not None:
        client.force_login(user)
    target = url.format(**world)
    before = AccessRequest.objects.get(pk=world["req"]).status
    response = getattr(client, method)(target, POST_DATA if method == "post" else None)
    assert response.status_code == expected, f"{name} as {persona}"
    if (
        expected == 302
        and target.startswith("/admin/")
        and persona in ("anonymous", "unverified", "applicant", "other")
    ):
        assert "/admin/login/" in response["Location"]
    changed = AccessRequest.objects.get(pk=world["req"]).status != before
    assert changed == ((name, persona) in MAY_CHANGE), f"{name} as {persona}"


def test_the_matrix_covers_every_access_route():
    """A new route of the access process without a row here fails this test."""
    from django.urls import get_resolver

    from access_requests import urls as access_urls

    covered = {row[2].split("{")[0] for row in MATRIX}
    for pattern in access_urls.urlpatterns:
        route = "/access/" + str(pattern.pattern).split("<")[0]
        assert any(c.startswith(route) or route.startswith(c) for c in covered), route
    assert get_resolver().resolve("/access/register/")
