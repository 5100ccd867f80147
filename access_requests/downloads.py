"""An export's file, to the grantee: from the download page and from the data API alike.

Both paths refuse the same way (expired, not ready, file gone) and audit each download;
the refusals are DRF exceptions, which the API answers in its error shape and the page
turns into a message.
"""

from datetime import datetime
from typing import cast

from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.utils.translation import gettext
from rest_framework import exceptions

from access_requests import datasheets, services
from access_requests.models import Export

CONTENT_TYPES = {
    "csv": "application/gzip",
    "jsonl": "application/gzip",
    "parquet": "application/vnd.apache.parquet",
}


class ExportNotReady(exceptions.APIException):
    status_code = 409
    default_code = "export_not_ready"


class ExportGone(exceptions.APIException):
    status_code = 410
    default_code = "export_expired"


def export_file_response(export: Export, user, *, via: str, token=None):
    """The file of a ready, unexpired export, audited; anything else is a clear refusal
    (ExportGone, ExportNotReady)."""
    try:
        services.export_refuse_if_expired(export=export, via=via)
    except services.ExportExpired as exc:
        raise ExportGone(str(exc)) from exc
    if export.state != Export.State.READY:
        raise ExportNotReady(
            gettext("Export #%(pk)s is %(state)s, not ready.")
            % {"pk": export.pk, "state": export.get_state_display().lower()}
        )
    storage = services.export_storage()
    if not isinstance(storage, FileSystemStorage):
        services.export_download_record(export=export, user=user, via=via, token=token)
        return HttpResponseRedirect(_signed_url(storage, export))
    try:
        handle = storage.open(export.file_name, "rb")
    except FileNotFoundError as exc:  # deleted by the clean-up since this request began
        raise ExportGone(
            gettext("Export #%(pk)s expired and its file is deleted.") % {"pk": export.pk}
        ) from exc
    try:
        services.export_download_record(export=export, user=user, via=via, token=token)
    except BaseException:
        handle.close()
        raise
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=datasheets.file_name(export),
        content_type=CONTENT_TYPES[export.format],
    )
    response["X-Checksum-SHA256"] = export.sha256
    return response


def _signed_url(storage, export: Export) -> str:
    """A signed URL of the bucket's file that stops working when the export expires,
    not up to the storage's own lifetime (an hour by default) after it."""
    # Only a ready export is downloaded, and _finish sets expires_at as it makes one ready.
    expires_at = cast(datetime, export.expires_at)
    remaining = int((expires_at - timezone.now()).total_seconds())
    lifetime = getattr(storage, "querystring_expire", None)
    if lifetime is None:
        return storage.url(export.file_name)
    return storage.url(export.file_name, expire=max(1, min(lifetime, remaining)))


DATASHEET_SPELLINGS = {
    "json": ("application/json", datasheets.export_datasheet_json),
    "md": ("text/markdown; charset=utf-8", datasheets.export_datasheet_markdown),
}


class NoDatasheet(exceptions.APIException):
    status_code = 409
    default_code = "export_not_ready"


def export_datasheet_response(export: Export, user, *, via: str, spelling: str, token=None):
    """The datasheet of a built export (ready, or expired since: it still describes the
    file a grantee may hold), audited; an export not built yet has none (NoDatasheet)."""
    if export.rows is None or not export.sha256:
        raise NoDatasheet(
            gettext("Export #%(pk)s is %(state)s: it has no datasheet yet.")
            % {"pk": export.pk, "state": export.get_state_display().lower()}
        )
    content_type, render = DATASHEET_SPELLINGS[spelling]
    body = render(export)
    services.export_datasheet_record(
        export=export, user=user, via=via, spelling=spelling, token=token
    )
    response = HttpResponse(body, content_type=content_type)
    name = datasheets.file_name(export).split(".")[0] + f"-datasheet.{spelling}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
