"""The access process's emails: rendered now, sent once the decision is committed.

Each recipient reads the email in the language kept on their profile (see
access_requests/languages.py); recipients who share a language share one message.
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils import translation

from access_requests.languages import email_languages
from portal.mail import plain_text_render

logger = logging.getLogger(__name__)


def email_send_on_commit(template: str, recipients: list[str], context: dict) -> None:
    """Render and send one email after commit; a mail failure never undoes a decision."""
    if not recipients:
        return
    context = {
        **context,
        "site_url": settings.PUBLIC_BASE_URL.rstrip("/"),
        "site_name": settings.SITE_NAME,
    }
    for language, addresses in email_languages(recipients).items():
        with translation.override(language):
            subject = plain_text_render(f"access_requests/email/{template}_subject.txt", context)
            body = plain_text_render(f"access_requests/email/{template}.txt", context)
        transaction.on_commit(_delivery(template, subject.strip(), body, addresses))


def _delivery(template: str, subject: str, body: str, recipients: list[str]):
    def deliver() -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        except Exception:
            logger.exception("Could not send the %s email", template)

    return deliver


def maintainer_emails() -> list[str]:
    """Everyone who reviews requests: active maintainers and superusers with an address."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    reviewers = users.filter(groups__name="maintainers") | users.filter(is_superuser=True)
    return sorted(set(reviewers.values_list("email", flat=True)))
