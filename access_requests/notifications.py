"""The access process's emails: rendered now, sent once the decision is committed."""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction

from portal.mail import plain_text_render

logger = logging.getLogger(__name__)


def email_send_on_commit(template: str, recipients: list[str], context: dict) -> None:
    """Render and send one email after commit; a mail failure never undoes a decision."""
    if not recipients:
        return
    context = {**context, "site_url": settings.PUBLIC_BASE_URL}
    subject = plain_text_render(f"access_requests/email/{template}_subject.txt", context).strip()
    body = plain_text_render(f"access_requests/email/{template}.txt", context)

    def deliver() -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        except Exception:
            logger.exception("Could not send the %s email", template)

    transaction.on_commit(deliver)


def maintainer_emails() -> list[str]:
    """Everyone who reviews requests: active maintainers and superusers with an address."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    reviewers = users.filter(groups__name="maintainers") | users.filter(is_superuser=True)
    return sorted(set(reviewers.values_list("email", flat=True)))
