"""Nobody is offered what their role refuses: admin actions, buttons and links, per persona.

Maintainers review and draft and publish policy versions; auditors see everything and
change nothing; superusers may do both. Each persona's pages are read as they render:
an action in the drop-down, a link among the object tools, a Save button."""

import pytest

from access_requests import services
from ingest.models import PolicyVersion
from ingest.services import policy_version_draft
from tests.access_requests.factories import file_request
from tests.personas import persona_create

pytestmark = pytest.mark.django_db

MAINTAINER, AUDITOR, SUPERUSER = "maria", "audrey", "sam"
EVERYTHING = {"draft": True, "publish": True, "review": True, "revoke": True, "save": True}
NOTHING = dict.fromkeys(EVERYTHING, False)
OFFERS = {MAINTAINER: EVERYTHING, AUDITOR: NOTHING, SUPERUSER: EVERYTHING}


@pytest.fixture
def world(db):
    people = {name: persona_create(name) for name in (MAINTAINER, AUDITOR, SUPERUSER, "bob")}
    pending = file_request(people["bob"], purpose="Pending study")
    grant = services.access_request_approve(
        request=file_request(people["bob"], purpose="Granted study"), reviewer=people[MAINTAINER]
    )
    draft = policy_version_draft(
        source=PolicyVersion.objects.get(number=1), actor=people[SUPERUSER]
    )
    return people, pending, grant, draft


def _offers(client, pending, grant, draft) -> dict[str, bool]:
    listing = client.get("/admin/ingest/policyversion/")
    assert listing.status_code == 200
    action_form = listing.context["action_form"]
    actions = {name for name, _ in action_form.fields["action"].choices} if action_form else set()
    request_page = client.get(f"/admin/access_requests/accessrequest/{pending.pk}/change/")
    grant_page = client.get(f"/admin/access_requests/grant/{grant.pk}/change/")
    draft_page = client.get(f"/admin/ingest/policyversion/{draft.pk}/change/")
    review_links = [
        f"/admin/access_requests/accessrequest/{pending.pk}/{view}/"
        for view in ("approve", "reject", "ask-info")
    ]
    shown = request_page.content.decode()
    assert len({link in shown for link in review_links}) == 1, "some decisions, not all"
    return {
        "draft": "draft_from_selected" in actions,
        "publish": "publish_selected" in actions,
        "review": review_links[0] in shown,
        "revoke": f"/admin/access_requests/grant/{grant.pk}/revoke/" in grant_page.content.decode(),
        "save": 'name="_save"' in draft_page.content.decode(),
    }


@pytest.mark.parametrize("persona", list(OFFERS))
def test_each_persona_is_offered_exactly_what_their_role_allows(client, world, persona):
    people, pending, grant, draft = world
    client.force_login(people[persona])
    assert _offers(client, pending, grant, draft) == OFFERS[persona]


def test_an_auditor_cannot_run_the_draft_action_by_posting_it(client, world):
    people, _, _, draft = world
    client.force_login(people[AUDITOR])
    before = PolicyVersion.objects.count()
    response = client.post(
        "/admin/ingest/policyversion/",
        {"action": "draft_from_selected", "_selected_action": [draft.pk]},
    )
    assert response.status_code in (200, 302)
    assert PolicyVersion.objects.count() == before


def test_nobody_is_offered_the_review_of_their_own_request(client, world):
    people = world[0]
    own = file_request(people[MAINTAINER], purpose="A maintainer's own study")
    client.force_login(people[MAINTAINER])
    page = client.get(f"/admin/access_requests/accessrequest/{own.pk}/change/")
    assert f"/admin/access_requests/accessrequest/{own.pk}/approve/" not in page.content.decode()


def test_a_revoked_grant_offers_no_revoke(client, world):
    people, _, grant, _ = world
    services.grant_revoke(grant=grant, actor=people[MAINTAINER], reason="Ended early.")
    client.force_login(people[MAINTAINER])
    page = client.get(f"/admin/access_requests/grant/{grant.pk}/change/")
    assert f"/admin/access_requests/grant/{grant.pk}/revoke/" not in page.content.decode()
