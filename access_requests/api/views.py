"""The data API: what a token's grant allows, audited read by read."""

import json
import re
from datetime import date

from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access_requests import grant_scope, quotas, services
from access_requests.api.authentication import ReadTokenAuthentication, ReadTokenRequest
from access_requests.api.serializers import (
    ExportPageSerializer,
    ExportRequestSerializer,
    ExportSerializer,
    ReportPageSerializer,
    RollupRowsSerializer,
)
from access_requests.api.throttles import ReadTokenRateThrottle
from access_requests.downloads import (
    CONTENT_TYPES,
    DATASHEET_SPELLINGS,
    export_datasheet_response,
    export_file_response,
)
from access_requests.errors import error_text
from access_requests.models import Export, ReadToken
from access_requests.selectors import export_get_for_grant, exports_for_grant
from ingest.parsing import VERSION_PART
from portal.api import api_error, empty_is_default

CURSOR_SALT = "data-reports-cursor"
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
LIMIT = re.compile(r"[0-9]{1,9}")


class OutsideGrant(exceptions.PermissionDenied):
    default_code = "outside_grant"


class BadParameter(exceptions.ValidationError):
    default_code = "invalid_parameter"

    def __init__(self, message: str):
        super().__init__(detail=message, code="invalid_parameter")


def _date(request: Request, name: str, default: date) -> date:
    value = request.query_params.get(name)
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise BadParameter(f"'{name}' must be a date written YYYY-MM-DD.") from exc


def _limit(request: Request) -> int:
    value = request.query_params.get("limit", str(grant_scope.PAGE_SIZE_MAX))
    # ASCII digits only: str.isdigit() also passes '²' or '①', which int() refuses
    if not LIMIT.fullmatch(value) or not 1 <= int(value) <= grant_scope.PAGE_SIZE_MAX:
        raise BadParameter(f"'limit' must be a whole number from 1 to {grant_scope.PAGE_SIZE_MAX}.")
    return int(value)


def _release(request: Request) -> str | None:
    """A release as reports store it; anything else (a NUL, say) could match no report."""
    value = request.query_params.get("release")
    if value is not None and not VERSION_PART.fullmatch(value):
        raise BadParameter(
            "'release' must be at most 64 letters, digits and '.-+_', as reports send it "
            "(e.g. v1.9.4)."
        )
    return value


def _cursor(request: Request, grant_id: int) -> tuple[date, int] | None:
    value = request.query_params.get("cursor")
    if not value:
        return None
    try:
        bound_grant, day, row_id = signing.loads(value, salt=CURSOR_SALT)
        position = (date.fromisoformat(day), int(row_id))
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise BadParameter("'cursor' is not a cursor this API gave out.") from exc
    if bound_grant != grant_id:
        raise BadParameter("'cursor' belongs to another grant.")
    return position


def _next_cursor(grant_id: int, position: tuple[date, int]) -> str:
    return signing.dumps([grant_id, position[0].isoformat(), position[1]], salt=CURSOR_SALT)


class DataView(APIView):
    authentication_classes = [ReadTokenAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [ReadTokenRateThrottle]
    refusals_audited = frozenset({401, 403})  # the export views add 404: not this grant's

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if response.status_code in self.refusals_audited:
            self._audit_refusal(exc, response.status_code)
        return response

    def _audit_refusal(self, exc: Exception, status: int) -> None:
        """Coalesced per reason and token (services/refusals.py), so a flood stays small."""
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
        token = getattr(exc, "token", None) or self.request.auth
        services.data_read_refused_record(
            reason=codes if isinstance(codes, str) else "refused",
            status=status,
            endpoint=self.request.path,
            parameters=self.request.query_params.dict(),
            token=token if isinstance(token, ReadToken) else None,
        )

    def _audit(self, request: ReadTokenRequest, rows: int) -> None:
        services.data_read_record(
            token=request.auth,
            endpoint=request.path,
            parameters=dict(request.query_params.items()),
            rows=rows,
        )


REFUSED = {
    401: api_error(
        "No token, or a malformed, unknown, revoked or expired one; a revoked or expired "
        "grant; a deactivated account. `error` says which."
    ),
    429: api_error("Over the token's request rate; see Retry-After."),
}
OUTSIDE_GRANT = api_error("Outside the grant's data, elements or period; says what it allows.")
BAD_PARAMETER = api_error("A parameter is malformed or out of range.")
NO_EXPORT = api_error("No export with this id for this token's grant.")

REPORT_PARAMETERS = [
    empty_is_default(
        OpenApiParameter("from", OpenApiTypes.DATE, description="First day (default: grant start).")
    ),
    empty_is_default(
        OpenApiParameter("to", OpenApiTypes.DATE, description="Last day (default: grant end).")
    ),
    OpenApiParameter(
        "release",
        str,
        pattern=f"^{VERSION_PART.pattern}$",
        description="Only reports of this release (e.g. v1.9.4).",
    ),
    empty_is_default(
        OpenApiParameter("cursor", str, description="next_cursor of the previous page.")
    ),
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": grant_scope.PAGE_SIZE_MAX},
        description="Rows per page, 1 to 1000 (default 1000).",
    ),
]


class DataReportsView(DataView):
    """The grant's daily reports: granted elements only, pseudonymised, keyset-paginated."""

    @extend_schema(
        operation_id="data_reports_list",
        tags=["data"],
        parameters=REPORT_PARAMETERS,
        responses={
            200: ReportPageSerializer,
            400: BAD_PARAMETER,
            403: OUTSIDE_GRANT,
            **REFUSED,
        },
    )
    def get(self, request: ReadTokenRequest) -> HttpResponse:
        grant = request.auth.grant
        first = _date(request, "from", grant.period_start)
        last = _date(request, "to", grant.period_end)
        limit = _limit(request)
        release = _release(request)
        after = _cursor(request, grant.pk)
        try:
            reports = grant_scope.grant_reports_queryset(
                grant=grant, first=first, last=last, release=release, after=after
            )
        except grant_scope.GrantScopeError as exc:
            raise OutsideGrant(str(exc)) from exc
        except ValueError as exc:
            raise BadParameter(str(exc)) from exc
        page = grant_scope.grant_report_page(reports=reports, grant=grant, limit=limit)
        self._audit(request, len(page.rows_json))
        position = page.next_position
        shape = ReportPageSerializer(
            {
                "grant": grant.pk,
                "fields": grant_scope.granted_fields(grant),
                "count": len(page.rows_json),
                "next_cursor": _next_cursor(grant.pk, position) if position else None,
                "results": [],
            }
        )
        # The rows are JSON text already (grant_report_page): the page's results, its last
        # key, are rendered empty and filled with them here.
        empty = json.dumps(shape.data)
        body = f"{empty.removesuffix('[]}')}[{', '.join(page.rows_json)}]}}"
        return HttpResponse(body, content_type="application/json")


class DataRollupsView(DataView):
    """The grant's daily rollups of one dimension (true counts, for the granted period)."""

    @extend_schema(
        operation_id="data_rollups_list",
        tags=["data"],
        parameters=REPORT_PARAMETERS[:2],
        responses={
            200: RollupRowsSerializer,
            400: BAD_PARAMETER,
            403: OUTSIDE_GRANT,
            404: api_error("Unknown dimension."),
            **REFUSED,
        },
    )
    def get(self, request: ReadTokenRequest, dimension: str) -> Response:
        grant = request.auth.grant
        first = _date(request, "from", grant.period_start)
        last = _date(request, "to", grant.period_end)
        try:
            rows = list(
                grant_scope.grant_rollups(grant=grant, dimension=dimension, first=first, last=last)
            )
        except LookupError as exc:
            raise exceptions.NotFound(f"Unknown dimension '{dimension}'.") from exc
        except grant_scope.GrantScopeError as exc:
            raise OutsideGrant(str(exc)) from exc
        except ValueError as exc:
            raise BadParameter(str(exc)) from exc
        self._audit(request, len(rows))
        shape = RollupRowsSerializer(
            {
                "grant": grant.pk,
                "dimension": dimension,
                "results": [
                    {"date": day, "value": value, "installations": count}
                    for day, value, count in rows
                ],
            }
        )
        return Response(shape.data)


# --- exports ------------------------------------------------------------------------------


class ExportPagination(PageNumberPagination):
    page_size = 20


class ExportsView(DataView):
    """The token's grant's exports, newest first; and asking for a new one, built in the
    background."""

    # A JSON body only: with form encodings a field can arrive as a file part and be
    # silently missing from the data, turning a bad date into the grant's bound.
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="exports_list",
        tags=["exports"],
        parameters=[
            OpenApiParameter(
                "page",
                {"type": "integer", "minimum": 1},
                description="The page, 20 exports each, newest first (default 1).",
            )
        ],
        responses={
            200: ExportPageSerializer,
            404: api_error("No such page (`page` beyond the last, or not a number)."),
            **REFUSED,
        },
    )
    def get(self, request: ReadTokenRequest) -> Response:
        paginator = ExportPagination()
        exports = paginator.paginate_queryset(
            exports_for_grant(grant=request.auth.grant), request, view=self
        )
        page = exports if exports is not None else []
        self._audit(request, len(page))
        results = ExportSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(results)

    @extend_schema(
        operation_id="exports_create",
        tags=["exports"],
        request=ExportRequestSerializer,
        responses={
            200: OpenApiResponse(
                ExportSerializer,
                description="An identical export (same format and period) is queued, "
                "running, or ready and unexpired: that export; nothing new is built.",
            ),
            202: ExportSerializer,
            400: BAD_PARAMETER,
            403: OUTSIDE_GRANT,
            415: api_error("The body is not JSON (Content-Type: application/json)."),
            **REFUSED,
            429: api_error(
                "Over the token's request rate (see Retry-After), or `quota_exceeded`: the "
                "grant already has EXPORT_MAX_QUEUED_PER_GRANT (3) exports queued or running."
            ),
        },
    )
    def post(self, request: ReadTokenRequest) -> Response:
        grant = request.auth.grant
        body = request.data if isinstance(request.data, dict) else {}
        first = _body_date(body, "from")
        last = _body_date(body, "to")
        try:
            export, created = services.export_request_or_reuse(
                grant=grant,
                user=request.user,
                file_format=str(body.get("format", "")),
                first=first,
                last=last,
                token=request.auth,
            )
        except grant_scope.GrantScopeError as exc:
            raise OutsideGrant(str(exc)) from exc
        except quotas.QuotaExceeded as exc:
            raise QuotaReached(exc.messages[0]) from exc
        except (ValueError, DjangoValidationError) as exc:
            raise BadParameter(error_text(exc)) from exc
        document = ExportSerializer(export, context={"request": request}).data
        return Response(document, status=202 if created else 200)


class QuotaReached(exceptions.APIException):
    status_code = 429
    default_code = quotas.CODE


def _body_date(body: dict, name: str) -> date | None:
    """A date of the request body: absent, None (the grant's bound); present, a YYYY-MM-DD
    string (an empty string, a null or a number is refused, not read as absent)."""
    if name not in body:
        return None
    value = body[name]
    try:
        if isinstance(value, str) and ISO_DATE.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass  # e.g. 2026-02-30
    raise BadParameter("'from' and 'to' must be dates written YYYY-MM-DD.")


def _export_of_token(request: ReadTokenRequest, pk: int) -> Export:
    export = export_get_for_grant(grant=request.auth.grant, pk=pk)
    if export is None:
        raise exceptions.NotFound("No export with this id for this token's grant.")
    return export


class ExportView(DataView):
    refusals_audited = frozenset({401, 403, 404})

    @extend_schema(
        operation_id="exports_retrieve",
        tags=["exports"],
        responses={200: ExportSerializer, 404: NO_EXPORT, **REFUSED},
    )
    def get(self, request: ReadTokenRequest, pk: int) -> Response:
        export = _export_of_token(request, pk)
        return Response(ExportSerializer(export, context={"request": request}).data)


class ExportDownloadView(DataView):
    refusals_audited = frozenset({401, 403, 404})

    @extend_schema(
        operation_id="exports_download",
        tags=["exports"],
        responses={
            **{
                (200, content_type): OpenApiResponse(
                    OpenApiTypes.BINARY, description="The export's file."
                )
                for content_type in sorted(set(CONTENT_TYPES.values()))
            },
            302: OpenApiResponse(
                description="Exports stored in an S3-compatible bucket: a signed URL "
                "of the file, in Location."
            ),
            404: NO_EXPORT,
            409: api_error("The export is not ready (queued, running or failed)."),
            410: api_error(
                "`export_expired`: the export's time to live has passed (from its expires_at "
                "on, whatever the hourly clean-up did) or its grant ended; the file is deleted."
            ),
            **REFUSED,
        },
    )
    def get(self, request: ReadTokenRequest, pk: int):
        export = _export_of_token(request, pk)
        return export_file_response(export, request.user, via="api", token=request.auth)


class ExportDatasheetView(DataView):
    refusals_audited = frozenset({401, 403, 404})

    @extend_schema(
        operation_id="exports_datasheet",
        tags=["exports"],
        parameters=[
            OpenApiParameter(
                "as",
                str,
                enum=sorted(DATASHEET_SPELLINGS),
                description="json (default) or md (Markdown).",
            )
        ],
        responses={
            (200, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="The datasheet: policy version, elements with their data "
                "dictionary entries, period, rows, SHA-256 of the file, pseudonym scope, "
                "known biases, terms version and a suggested citation.",
            ),
            (200, "text/markdown"): OpenApiResponse(
                OpenApiTypes.STR, description="The same datasheet in Markdown."
            ),
            400: BAD_PARAMETER,
            404: NO_EXPORT,
            409: api_error("The export is not built yet (queued, running or failed)."),
            **REFUSED,
        },
    )
    def get(self, request: ReadTokenRequest, pk: int):
        spelling = request.query_params.get("as") or "json"
        if spelling not in DATASHEET_SPELLINGS:
            raise BadParameter("'as' must be json or md.")
        export = _export_of_token(request, pk)
        return export_datasheet_response(
            export, request.user, via="api", spelling=spelling, token=request.auth
        )
