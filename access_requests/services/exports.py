"""Every write of the export lifecycle: request, build, sweep, expire, download.

The Export row holds the job's state. Building is idempotent: a ready export is
left alone, and a build that finds its attempt superseded discards its work. A
file is written aside under a temporary name and moved into place complete; only
then does the row say "ready", so a partial file is never served.
"""

import logging
import os
import secrets
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.storage import FileSystemStorage, storages
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from access_requests import export_files, grant_scope, quotas
from access_requests.models import Dataset, Export, Grant, ReadToken
from access_requests.notifications import email_send_on_commit
from portal.metrics import export_build_record
from portal.services import audit_event_record

logger = logging.getLogger(__name__)
State = Export.State


def export_storage():
    return storages["exports"]


def _partial_dir() -> Path:
    folder = Path(settings.MEDIA_ROOT) / "exports-partial"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def export_request(
    *,
    grant: Grant,
    user: User,
    file_format: str,
    first: date | None = None,
    last: date | None = None,
    token: ReadToken | None = None,
) -> Export:
    """Record the request and enqueue the build once committed; a broker outage only delays it.

    An identical request returns the export already made for it (see export_request_or_reuse).
    Without ``first`` or ``last``, the grant's period bounds the export.
    """
    export, _ = export_request_or_reuse(
        grant=grant, user=user, file_format=file_format, first=first, last=last, token=token
    )
    return export


def export_request_or_reuse(
    *,
    grant: Grant,
    user: User,
    file_format: str,
    first: date | None = None,
    last: date | None = None,
    token: ReadToken | None = None,
) -> tuple[Export, bool]:
    """The export for this request and whether it is new.

    Same grant, format and period as an export still queued, running, or ready and
    unexpired: that export, and nothing is built again. Otherwise a new one, unless the
    grant already has EXPORT_MAX_QUEUED_PER_GRANT exports waiting (QuotaExceeded).
    Without ``first`` or ``last``, the grant's period bounds the export.
    """
    first = grant.period_start if first is None else first
    last = grant.period_end if last is None else last
    if grant.grantee_id != user.pk:
        raise PermissionDenied(gettext("Only the grantee asks for exports of a grant."))
    if not grant.is_active:
        raise ValidationError(gettext("This grant is revoked or expired."))
    if Dataset.REPORTS not in grant.datasets:
        raise grant_scope.GrantScopeError(gettext("This grant does not include daily reports."))
    if file_format not in Export.Format.values:
        raise ValidationError(
            gettext("'format' must be one of %(formats)s.")
            % {"formats": ", ".join(Export.Format.values)}
        )
    grant_scope.check_period(grant, first, last)
    with transaction.atomic():
        grant = quotas.grant_lock(grant=grant)
        if not grant.is_active:  # revoked while this request was on its way
            raise ValidationError(gettext("This grant is revoked or expired."))
        existing = quotas.export_identical(
            grant=grant, file_format=file_format, first=first, last=last
        )
        if existing is not None:
            return existing, False
        quotas.export_quota_check(grant=grant)
        export = Export.objects.create(
            grant=grant, requested_by=user, format=file_format, period_start=first, period_end=last
        )
        audit_event_record(
            action="export.requested",
            actor=user,
            target=export,
            after={
                "format": file_format,
                "period": [first.isoformat(), last.isoformat()],
                "grant": grant.pk,
                "token": token.prefix if token else None,
            },
        )
        transaction.on_commit(lambda: export_enqueue(export_id=export.pk))
    return export, True


def export_enqueue(*, export_id: int) -> bool:
    """Hand the build to Celery; if the broker is down, the sweeper retries later."""
    from access_requests import tasks

    try:
        tasks.export_build.delay(export_id)
    except Exception:  # broker unreachable: the row stays queued for the sweeper
        logger.warning("Export %s could not be enqueued; the sweeper will retry.", export_id)
        return False
    return True


def _claim(export_id: int) -> Export | None:
    """Move the export to running for a new attempt, unless it is finished or fresh."""
    with transaction.atomic():
        export = Export.objects.select_for_update().select_related("grant").get(pk=export_id)
        stale = timezone.now() - timedelta(seconds=settings.EXPORT_STALE_SECONDS)
        if export.state in (State.READY, State.FAILED, State.EXPIRED):
            return None
        if export.state == State.RUNNING and export.heartbeat_at and export.heartbeat_at > stale:
            return None  # another worker is on it and alive
        export.state = State.RUNNING
        export.attempts += 1
        export.started_at = export.heartbeat_at = timezone.now()
        export.progress = 0
        export.save(update_fields=["state", "attempts", "started_at", "heartbeat_at", "progress"])
    return export


def export_build(*, export_id: int) -> Export | None:
    export = _claim(export_id)
    if export is None:
        return None
    attempt = export.attempts
    total = max(1, export_files.count_rows(export.period_start, export.period_end))
    partial = _partial_dir() / f"{export.pk}-{attempt}-{secrets.token_hex(4)}.part"

    def beat(rows: int) -> None:
        Export.objects.filter(pk=export.pk, attempts=attempt, state=State.RUNNING).update(
            progress=min(99, rows * 100 // total), heartbeat_at=timezone.now()
        )

    try:
        built = export_files.build_file(export, partial, export_files.throttled(beat))
        name = _publish(export, partial)
    except Exception as exc:
        partial.unlink(missing_ok=True)
        logger.exception("Export %s failed", export.pk)
        return _fail(export, attempt, str(exc) or exc.__class__.__name__)
    return _finish(export, attempt, built, name)


def _publish(export: Export, partial: Path) -> str:
    """Move the complete file into the export storage under its final name."""
    storage = export_storage()
    name = (
        f"grant-{export.grant_id}/export-{export.pk}-{secrets.token_hex(8)}."
        f"{export_files.EXTENSIONS[export.format]}"
    )
    if isinstance(storage, FileSystemStorage):
        final = Path(storage.path(name))
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, final)  # atomic on one filesystem
        return name
    with partial.open("rb") as handle:
        stored = storage.save(name, File(handle))
    partial.unlink(missing_ok=True)
    return stored


def _finish(export: Export, attempt: int, built: export_files.Built, name: str) -> Export | None:
    with transaction.atomic():
        current = Export.objects.select_for_update().get(pk=export.pk)
        if current.attempts != attempt or current.state != State.RUNNING:
            export_storage().delete(name)  # superseded by a newer attempt
            _build_record(export, "superseded")
            return None
        current.state = State.READY
        current.progress = 100
        current.rows, current.size_bytes, current.sha256 = built.rows, built.size, built.sha256
        current.file_name = name
        current.finished_at = timezone.now()
        current.expires_at = current.finished_at + timedelta(days=settings.EXPORT_TTL_DAYS)
        current.save()
        audit_event_record(
            action="export.ready",
            target=current,
            after={"rows": built.rows, "sha256": built.sha256, "size": built.size},
        )
        email_send_on_commit("export_ready", [current.requested_by.email], {"export": current})
    _build_record(export, "ready")
    return current


def _fail(export: Export, attempt: int, reason: str) -> Export | None:
    with transaction.atomic():
        current = Export.objects.select_for_update().get(pk=export.pk)
        if current.attempts != attempt:
            _build_record(export, "superseded")
            return None
        current.state = State.FAILED
        current.error = reason[:2000]
        current.finished_at = timezone.now()
        current.save(update_fields=["state", "error", "finished_at"])
        audit_event_record(action="export.failed", target=current, after={"error": current.error})
        email_send_on_commit("export_failed", [current.requested_by.email], {"export": current})
    _build_record(export, "failed")
    return current


def _build_record(export: Export, outcome: str) -> None:
    """The attempt's outcome and duration, from its claim (started_at) to now."""
    seconds = (timezone.now() - export.started_at).total_seconds() if export.started_at else 0.0
    export_build_record(file_format=export.format, outcome=outcome, seconds=seconds)


def exports_sweep() -> list[int]:
    """Re-enqueue exports left queued (broker was down) or running with a dead worker."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.EXPORT_STALE_SECONDS)
    waiting = Export.objects.filter(
        state=State.QUEUED,
        created_at__lt=now - timedelta(seconds=settings.EXPORT_QUEUED_GRACE_SECONDS),
    )
    stuck = Export.objects.filter(state=State.RUNNING, heartbeat_at__lt=stale)
    ids = sorted(
        set(waiting.values_list("pk", flat=True)) | set(stuck.values_list("pk", flat=True))
    )
    for export_id in ids:
        export_enqueue(export_id=export_id)
    return ids


def export_expire(*, export: Export, reason: str, refused_download: str | None = None) -> None:
    """Delete the file and mark the export expired (TTL passed, or the grant was revoked).

    ``refused_download`` names the path ("api", "page") whose download found the time to
    live passed before the hourly task did; the audit row says so.
    """
    with transaction.atomic():
        export = Export.objects.select_for_update().get(pk=export.pk)
        if export.state == State.EXPIRED:
            return
        name = export.file_name
        export.state = State.EXPIRED
        export.file_name = ""
        export.save(update_fields=["state", "file_name"])
        details = {"reason": reason}
        if refused_download:
            details["refused_download"] = refused_download
        audit_event_record(action="export.expired", target=export, details=details)
        if name:
            transaction.on_commit(lambda: export_storage().delete(name))


def exports_expire_due(*, now=None) -> int:
    """Delete the files whose time to live passed, and those of grants that have ended."""
    now = now or timezone.now()
    due = Export.objects.filter(state=State.READY).filter(
        Q(expires_at__lte=now) | Q(grant__expires_at__lte=now)
    )
    count = 0
    for export in due.select_related("grant"):
        ended = export.grant.expires_at <= now
        export_expire(export=export, reason="grant ended" if ended else "time to live passed")
        count += 1
    return count


def exports_delete_for_grant(*, grant: Grant) -> None:
    for export in grant.exports.exclude(state=State.EXPIRED):
        export_expire(export=export, reason="grant revoked")


class ExportExpired(Exception):
    """The export's file is gone, or its time to live has passed: it is never served."""


def export_refuse_if_expired(*, export: Export, via: str, now=None) -> None:
    """Refuse a download once expires_at has passed, whatever the hourly task did: the
    export is expired on the spot (its file deleted, an audit row written) and refused."""
    now = now or timezone.now()
    if export.state == State.READY and export.expires_at is not None and export.expires_at <= now:
        export_expire(export=export, reason="time to live passed", refused_download=via)
        export.state, export.file_name = State.EXPIRED, ""
    if export.state == State.EXPIRED:
        past = export.expires_at is not None and export.expires_at <= now
        if past:
            text = gettext(
                "Export #%(pk)s expired on %(when)s UTC and its file is deleted; ask for a new "
                "export."
            ) % {"pk": export.pk, "when": f"{export.expires_at:%Y-%m-%d %H:%M}"}
        else:
            text = gettext(
                "Export #%(pk)s expired and its file is deleted; ask for a new export."
            ) % {"pk": export.pk}
        raise ExportExpired(text)


def export_download_record(
    *, export: Export, user: User, via: str, token: ReadToken | None = None
) -> None:
    with transaction.atomic():
        if token is not None:
            ReadToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        audit_event_record(
            action="data.export_downloaded",
            actor=user,
            target=export,
            details={
                "via": via,
                "token": token.prefix if token else None,
                "rows": export.rows,
                "sha256": export.sha256,
                "grant": export.grant_id,
            },
        )


def export_datasheet_record(
    *, export: Export, user: User, via: str, spelling: str, token: ReadToken | None = None
) -> None:
    """A datasheet read is audited like a download: it names the export, its rows and its
    checksum to whoever reads it."""
    with transaction.atomic():
        if token is not None:
            ReadToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        audit_event_record(
            action="data.export_datasheet_read",
            actor=user,
            target=export,
            details={
                "via": via,
                "as": spelling,
                "token": token.prefix if token else None,
                "rows": export.rows,
                "sha256": export.sha256,
                "grant": export.grant_id,
            },
        )
