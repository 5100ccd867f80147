"""Staff reads of stored reports in the admin: one audit row per page seen.

A report row is the closest the portal keeps to an installation, so opening the list or
one report is a data read like a grantee's, and is audited like one. An installation is
named only by its keyed digest (the one erasures are audited with), never by its ID.
"""

from django.contrib.auth.models import User
from django.db import transaction

from ingest.models import Report
from ingest.services.reports import installation_digest
from portal.services import audit_event_record

PARAMETERS_KEPT = 10  # a query string is the admin's own, but bounded all the same
PARAMETER_LENGTH = 100


def _bounded(parameters: dict[str, str]) -> dict[str, str]:
    return {
        key[:PARAMETER_LENGTH]: value[:PARAMETER_LENGTH]
        for key, value in list(parameters.items())[:PARAMETERS_KEPT]
    }


def reports_admin_list_record(
    *, user: User, parameters: dict[str, str], rows: int, looked_up: str | None
) -> None:
    """The list page (``rows`` shown); ``looked_up``: the exact platformID searched for."""
    with transaction.atomic():
        if looked_up is None:
            audit_event_record(
                action="reports.admin_listed",
                actor=user,
                target_type="ingest.report",
                details={"parameters": _bounded(parameters), "rows": rows},
            )
            return
        audit_event_record(
            action="installation.looked_up",
            actor=user,
            target_type="installation",
            target_id=installation_digest(looked_up),
            details={"parameters": _bounded(parameters), "rows": rows},
        )


def report_admin_view_record(*, user: User, report: Report) -> None:
    with transaction.atomic():
        audit_event_record(
            action="report.admin_viewed",
            actor=user,
            target=report,
            details={
                "installation": installation_digest(report.platform_id),
                "report_date": report.report_date.isoformat(),
            },
        )
