"""Plain-text emails arrive as written: an apostrophe is an apostrophe, not &#x27;."""

import pytest
from django.core import mail

from access_requests import services
from tests.access_requests.factories import UserFactory, file_request

TEXT = 'Bob\'s addons & <workflow> steps "per release"'
ESCAPES = ("&#x27;", "&#39;", "&amp;", "&lt;", "&gt;", "&quot;")

pytestmark = pytest.mark.django_db


def test_access_process_emails_are_not_html_escaped(maintainer, django_capture_on_commit_callbacks):
    applicant = UserFactory(username="o'brien")
    with django_capture_on_commit_callbacks(execute=True):
        filed = file_request(applicant, purpose=TEXT)
    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_ask_info(request=filed, reviewer=maintainer, message=TEXT)
    by_recipient = {tuple(m.to): m for m in mail.outbox}
    assert set(by_recipient) == {("maria@example.org",), ("o'brien@example.org",)}
    for message in mail.outbox:
        assert TEXT in message.body, message.body
        assert not [escape for escape in ESCAPES if escape in message.body + message.subject]
    asked = mail.outbox[-1]
    assert asked.to == ["o'brien@example.org"]
    assert asked.body.count(TEXT) == 2  # the purpose and the maintainer's question
