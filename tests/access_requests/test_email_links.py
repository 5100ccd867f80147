"""The applicant's emails link the request's own page, where each step is followed."""

import re

import pytest
from django.conf import settings
from django.core import mail

from access_requests import export_files, services
from tests.access_requests.factories import file_request
from tests.access_requests.helpers import PERIOD, grant_for

pytestmark = pytest.mark.django_db


def _links(body: str) -> list[str]:
    """The portal's links in an email body, as paths."""
    base = re.escape(settings.PUBLIC_BASE_URL)
    return re.findall(rf"{base}(/\S*)", body)


def _applicant_mail(address: str, subject_part: str):
    (message,) = [m for m in mail.outbox if m.to == [address] and subject_part in m.subject]
    return message


def test_filing_asking_and_approving_link_the_requests_page(
    applicant, maintainer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        filed = file_request(applicant)
        services.access_request_ask_info(request=filed, reviewer=maintainer, message="Why?")
        services.access_request_answer(request=filed, applicant=applicant, message="Because.")
        services.access_request_approve(request=filed, reviewer=maintainer)
    page = f"/access/requests/{filed.pk}/"
    for subject_part in ("was received", "More information is needed", "was approved"):
        body = _applicant_mail(applicant.email, subject_part).body
        assert page in _links(body), (subject_part, body)
        assert "/access/" not in _links(body), (subject_part, body)
    approved = _applicant_mail(applicant.email, "was approved").body
    assert _links(approved) == ["/access/register/", page]  # the register stays linked


def test_the_export_emails_link_the_page_of_the_grants_request(
    applicant, maintainer, export_media, monkeypatch, django_capture_on_commit_callbacks
):
    grant = grant_for(applicant, maintainer)
    page = f"/access/requests/{grant.request_id}/"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        ready = services.export_request(
            grant=grant, user=applicant, file_format="jsonl", first=PERIOD[0], last=PERIOD[1]
        )
        services.export_build(export_id=ready.pk)

    def broken(export, out, progress):
        raise OSError("disk full")

    monkeypatch.setitem(export_files.WRITERS, "csv", broken)
    with django_capture_on_commit_callbacks(execute=True):
        failed = services.export_request(grant=grant, user=applicant, file_format="csv")
        services.export_build(export_id=failed.pk)
    for subject_part in (f"#{ready.pk} is ready", f"#{failed.pk} failed"):
        body = _applicant_mail(applicant.email, subject_part).body
        assert _links(body) == [page], (subject_part, body)
