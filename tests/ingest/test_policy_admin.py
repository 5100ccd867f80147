"""The policy editor: a draft is refused when it is saved, not only when it is published."""

import pytest

from ingest.models import PolicyElement, PolicyVersion
from ingest.services import policy_version_draft

pytestmark = pytest.mark.django_db

FIELDS = (
    "position",
    "key",
    "decision",
    "personal_info",
    "tracking_identifier",
    "sensitive_data",
    "note",
    "rejection_reason",
)


@pytest.fixture
def draft(superuser) -> PolicyVersion:
    return policy_version_draft(source=PolicyVersion.objects.get(number=1), actor=superuser)


def _flag(value: bool | None) -> str:
    return {None: "unknown", True: "true", False: "false"}[value]


def _form_data(draft: PolicyVersion, **changes: dict) -> dict:
    """The draft's change form as the admin posts it; ``changes`` maps a key to new values."""
    elements = list(draft.elements.order_by("position", "key"))
    data = {
        "approved_on": "",
        "approval_reference": draft.approval_reference,
        "summary": draft.summary,
        "elements-TOTAL_FORMS": str(len(elements)),
        "elements-INITIAL_FORMS": str(len(elements)),
        "elements-MIN_NUM_FORMS": "0",
        "elements-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for i, element in enumerate(elements):
        values = {name: getattr(element, name) for name in FIELDS}
        values.update(changes.get(element.key, {}))
        prefix = f"elements-{i}-"
        data[prefix + "id"] = str(element.pk)
        data[prefix + "policy_version"] = str(draft.pk)
        for name in FIELDS:
            value = values[name]
            if name in ("personal_info", "tracking_identifier", "sensitive_data"):
                value = _flag(value)
            data[prefix + name] = "" if value is None else str(value)
    return data


def _url(draft: PolicyVersion) -> str:
    return f"/admin/ingest/policyversion/{draft.pk}/change/"


def test_approving_an_element_the_receiver_cannot_store_is_refused_at_save(
    client, maintainer, draft
):
    client.force_login(maintainer)
    response = client.post(_url(draft), _form_data(draft, region={"decision": "approved"}))
    assert response.status_code == 200  # the form again, with its errors
    formset = response.context["inline_admin_formsets"][0].formset
    errors = [error for form in formset.errors for error in form.get("__all__", [])]
    assert len(errors) == 1
    assert errors[0].startswith("The receiver cannot store region: approve only elements it knows")
    assert draft.elements.get(key="region").decision == PolicyElement.Decision.REJECTED


def test_rejecting_an_element_that_keys_the_daily_row_is_refused_at_save(client, maintainer, draft):
    client.force_login(maintainer)
    response = client.post(
        _url(draft),
        _form_data(draft, requestTime={"decision": "rejected", "rejection_reason": "Not needed."}),
    )
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.non_form_errors() == [
        "requestTime must stay approved: reports are kept one per installation per day."
    ]
    assert draft.elements.get(key="requestTime").decision == PolicyElement.Decision.APPROVED


def test_a_rejected_element_without_its_reason_is_refused_at_save(client, maintainer, draft):
    client.force_login(maintainer)
    response = client.post(_url(draft), _form_data(draft, installTime={"decision": "rejected"}))
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert [e.get("rejection_reason") for e in formset.errors if e] == [
        ["installTime needs its reason."]
    ]


def test_a_draft_the_receiver_can_store_is_saved(client, maintainer, draft):
    client.force_login(maintainer)
    response = client.post(
        _url(draft),
        _form_data(draft, installTime={"decision": "rejected", "rejection_reason": "Not needed."}),
    )
    assert response.status_code == 302
    assert draft.elements.get(key="installTime").decision == PolicyElement.Decision.REJECTED
