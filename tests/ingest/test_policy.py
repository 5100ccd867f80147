import pytest
from django.core.exceptions import ValidationError

from ingest.models import PolicyElement, PolicyVersion, Report
from ingest.services import policy_version_draft, policy_version_publish
from portal.models import AuditEvent
from tests.ingest.helpers import post_report

pytestmark = pytest.mark.django_db

# The review's table: element -> (personal info?, tracking or unique identifier?, sensitive?)
REVIEW_ANSWERS = {
    "version": (False, False, False),
    "platformID": (False, True, False),
    "installTime": (False, False, False),
    "clusterCount": (False, False, False),
    "appCount": (False, False, False),
    "enableAddonList": (False, False, False),
    "xDefinitionTopList": (False, False, False),
    "requestTime": (False, False, False),
    "browserInfo": (False, False, False),
}


def test_the_policy_api_lists_exactly_the_approved_elements_with_the_reviews_answers(client):
    response = client.get("/api/v1/policy")
    assert response.status_code == 200
    policy = response.json()
    assert policy["version"] == 1
    assert policy["approved_on"] == "2022-03-14"
    answers = {
        e["name"]: (
            e["could_be_personal_info"],
            e["could_be_tracking_or_unique_identifier"],
            e["could_be_end_user_sensitive_or_business_data"],
        )
        for e in policy["elements"]
    }
    assert answers == REVIEW_ANSWERS
    assert all(e["note"] for e in policy["elements"])
    by_name = {e["name"]: e for e in policy["elements"]}
    assert by_name["xDefinitionTopList"]["client_fields"] == [
        "componentDefinitionTopList",
        "traitDefinitionTopList",
        "workflowStepDefinitionTopList",
        "policyDefinitionTopList",
    ]
    assert by_name["browserInfo"]["client_fields"] == [
        "browserInfo.nameAndVersion",
        "browserInfo.screenWidth",
    ]
    assert by_name["requestTime"]["client_fields"] == []


def test_the_policy_api_says_where_how_often_and_how_long(client, settings):
    policy = client.get("/api/v1/policy").json()
    urls = {endpoint["url"] for endpoint in policy["endpoints"]}
    assert "https://telemetry.kubevela.net/collecting" in urls
    assert policy["retention_days"] == settings.REPORT_RETENTION_DAYS
    assert "once a day" in policy["sending_frequency"]["client"]
    assert "per installation per UTC day" in policy["sending_frequency"]["stored"]


def test_removed_elements_are_recorded_as_rejected_with_the_reason(client):
    rejected = {e["name"]: e for e in client.get("/api/v1/policy").json()["rejected_elements"]}
    assert set(rejected) == {"clientIP", "region"}
    assert "privacy" in rejected["clientIP"]["reason"]
    assert "third-party" in rejected["region"]["reason"]


def _draft_without(superuser, key: str) -> PolicyVersion:
    draft = policy_version_draft(source=PolicyVersion.objects.get(number=1), actor=superuser)
    draft.elements.filter(key=key).delete()
    return draft


def test_publishing_is_audited_and_supersedes_the_previous_version(superuser):
    draft = _draft_without(superuser, "browserInfo")
    assert draft.status == PolicyVersion.Status.DRAFT
    policy_version_publish(version=draft, actor=superuser)
    assert PolicyVersion.objects.get(number=1).status == PolicyVersion.Status.SUPERSEDED
    assert PolicyVersion.objects.get(number=2).status == PolicyVersion.Status.PUBLISHED
    event = AuditEvent.objects.get(action="policy.published")
    assert event.actor == superuser
    assert event.before == {"published_version": 1}
    assert event.after["published_version"] == 2
    assert "browserInfo" not in event.after["approved_elements"]


def test_the_receiver_enforces_only_the_published_version(
    client, superuser, typical_payload, django_capture_on_commit_callbacks
):
    draft = _draft_without(superuser, "browserInfo")
    post_report(client, typical_payload)
    assert Report.objects.get().browser_family == "chrome"  # the draft is not enforced yet

    with django_capture_on_commit_callbacks(execute=True):
        policy_version_publish(version=draft, actor=superuser)
    response = post_report(client, typical_payload)
    assert response.status_code == 202
    assert response.json()["policy_version"] == 2
    assert "browserInfo.nameAndVersion" in response.json()["discarded_fields"]
    report = Report.objects.get()
    assert (report.browser_family, report.browser_major_version, report.screen_width) == (
        None,
        None,
        None,
    )
    assert report.policy_version.number == 2
    assert [e["name"] for e in client.get("/api/v1/policy").json()["elements"]].count(
        "browserInfo"
    ) == 0
    collected = client.get("/").content.decode().split('id="not-collected"')[0]
    assert "Policy version 2" in collected
    assert "<code>browserInfo</code>" not in collected
    assert "<code>appCount</code>" in collected


def test_an_unapproved_element_is_discarded_unread(
    client, superuser, typical_payload, django_capture_on_commit_callbacks
):
    """Once browserInfo is not approved, even a malformed browserInfo is just discarded."""
    with django_capture_on_commit_callbacks(execute=True):
        policy_version_publish(version=_draft_without(superuser, "browserInfo"), actor=superuser)
    typical_payload["browserInfo"] = "not even an object"
    response = post_report(client, typical_payload)
    assert response.status_code == 202
    assert "browserInfo" in response.json()["discarded_fields"]


@pytest.mark.parametrize("key", ["platformID", "requestTime"])
def test_a_version_without_the_structural_elements_cannot_be_published(superuser, key):
    draft = _draft_without(superuser, key)
    with pytest.raises(ValidationError, match=key):
        policy_version_publish(version=draft, actor=superuser)
    assert PolicyVersion.objects.get(number=1).status == PolicyVersion.Status.PUBLISHED
    assert not AuditEvent.objects.filter(action="policy.published").exists()


def test_an_element_the_receiver_cannot_store_cannot_be_approved(superuser):
    draft = policy_version_draft(source=PolicyVersion.objects.get(number=1), actor=superuser)
    draft.elements.filter(key="region").update(decision=PolicyElement.Decision.APPROVED)
    with pytest.raises(ValidationError, match="region"):
        policy_version_publish(version=draft, actor=superuser)


def test_a_published_version_cannot_be_published_again(superuser):
    with pytest.raises(ValidationError, match="only a draft"):
        policy_version_publish(version=PolicyVersion.objects.get(number=1), actor=superuser)


def test_admin_actions_draft_and_publish(client, superuser):
    client.force_login(superuser)
    v1 = PolicyVersion.objects.get(number=1)
    url = "/admin/ingest/policyversion/"
    response = client.post(url, {"action": "draft_from_selected", "_selected_action": [v1.pk]})
    assert response.status_code == 302
    draft = PolicyVersion.objects.get(number=2)
    assert draft.elements.count() == v1.elements.count()
    response = client.post(url, {"action": "publish_selected", "_selected_action": [draft.pk]})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == PolicyVersion.Status.PUBLISHED
    assert AuditEvent.objects.filter(action="policy.published", actor=superuser).exists()


def test_a_published_version_is_read_only_in_the_admin(client, superuser):
    client.force_login(superuser)
    v1 = PolicyVersion.objects.get(number=1)
    response = client.post(
        f"/admin/ingest/policyversion/{v1.pk}/change/", {"summary": "rewritten history"}
    )
    v1.refresh_from_db()
    assert response.status_code == 403 or v1.summary != "rewritten history"
    assert v1.summary != "rewritten history"


def test_members_cannot_reach_the_policy_admin(client, applicant):
    client.force_login(applicant)
    response = client.get("/admin/ingest/policyversion/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_the_home_page_renders_the_published_elements(client):
    page = client.get("/").content.decode()
    collected, never_collected = page.split('id="not-collected"')
    for key in REVIEW_ANSWERS:
        assert f"<code>{key}</code>" in collected
    assert "<code>clientIP</code>" not in collected
    assert "<code>clientIP</code>" in never_collected
    assert "<code>region</code>" in never_collected


def test_adding_an_element_back_changes_page_api_and_receiver_together(
    client, superuser, typical_payload, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        policy_version_publish(version=_draft_without(superuser, "browserInfo"), actor=superuser)
    v3 = policy_version_draft(source=PolicyVersion.objects.get(number=2), actor=superuser)
    original = PolicyVersion.objects.get(number=1).elements.get(key="browserInfo")
    original.pk, original.policy_version = None, v3
    original.save()
    with django_capture_on_commit_callbacks(execute=True):
        policy_version_publish(version=v3, actor=superuser)
    assert post_report(client, typical_payload).json()["policy_version"] == 3
    assert Report.objects.get().browser_family == "chrome"
    names = [e["name"] for e in client.get("/api/v1/policy").json()["elements"]]
    assert "browserInfo" in names
    collected = client.get("/").content.decode().split('id="not-collected"')[0]
    assert "<code>browserInfo</code>" in collected
    history = client.get("/policy/").content.decode()
    assert "Added: <code>browserInfo</code>" in history
    assert "Removed: <code>browserInfo</code>" in history
