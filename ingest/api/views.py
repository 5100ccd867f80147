from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ingest.api.serializers import PolicySerializer, StatsDimensionSerializer, StatsIndexSerializer
from ingest.dimensions import DIMENSIONS
from ingest.parsing import PLATFORM_ID, ReportRejected, parse_platform_id
from ingest.privacy import budget
from ingest.selectors import policy_document, policy_get_published
from ingest.services import installation_erase
from ingest.stats import (
    DateRange,
    StatsRangeError,
    stats_groups,
    stats_range_parse,
    stats_shown_series,
)
from portal.api import api_error, empty_is_default

ERROR_RESPONSE = api_error("{error, message}")


class PolicyNotPublished(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "no_published_policy"
    default_detail = "No data policy is published."


class NoReportsStored(NotFound):
    default_detail = "No reports are stored for this installation."


class UnknownDimension(NotFound):
    default_code = "unknown_dimension"


class FieldRejected(APIException):
    """The parser's refusal of a field, answered as the receiver answers it (with ``field``)."""

    def __init__(self, rejected: ReportRejected):
        super().__init__(rejected.message, rejected.code)
        self.status_code = rejected.status
        self.field_name = rejected.field_name


class PolicyView(APIView):
    """The published data-collection policy: what is collected, how, and for how long."""

    @extend_schema(
        operation_id="policy_retrieve",
        tags=["policy"],
        responses={200: PolicySerializer, 503: ERROR_RESPONSE},
    )
    def get(self, request: Request) -> Response:
        version = policy_get_published()
        if version is None:
            raise PolicyNotPublished()
        return Response(PolicySerializer(policy_document(version)).data)


class InstallationView(APIView):
    """Opt out with erasure: delete every report of one installation.

    Knowing the platform ID is the credential: it is a random value only the
    installation (and this receiver) holds.
    """

    @extend_schema(
        operation_id="installation_erase",
        tags=["receiver"],
        parameters=[
            OpenApiParameter(
                "platform_id",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                pattern=f"^{PLATFORM_ID.pattern}$",
                description="The installation's platformID, as its reports send it.",
            )
        ],
        responses={
            204: OpenApiResponse(description="Every report erased."),
            400: api_error("Not a platformID."),
            404: api_error(NoReportsStored.default_detail),
        },
    )
    def delete(self, request: Request, platform_id: str) -> Response:
        try:
            platform_id = parse_platform_id(platform_id)
        except ReportRejected as rejected:
            raise FieldRejected(rejected) from rejected
        if not installation_erase(platform_id=platform_id):
            raise NoReportsStored()
        return Response(status=status.HTTP_204_NO_CONTENT)


def _period(request: Request) -> DateRange:
    try:
        return stats_range_parse(
            first=request.query_params.get("from"),
            last=request.query_params.get("to"),
            today=timezone.now().date(),
        )
    except StatsRangeError as exc:
        raise ValidationError(str(exc), code="invalid_range") from exc


class StatsIndexView(APIView):
    """The dimensions of the public statistics, and the privacy guarantee of their figures."""

    @extend_schema(
        operation_id="stats_dimensions_list",
        tags=["statistics"],
        responses={200: StatsIndexSerializer},
    )
    def get(self, request: Request) -> Response:
        index = StatsIndexSerializer(
            {
                "min_installations": settings.STATS_MIN_INSTALLATIONS,
                "privacy": budget(),
                "dimensions": [
                    {
                        "dimension": key,
                        "title": d.title,
                        "description": d.description,
                        "kind": d.kind,
                        "element": d.element,
                        "url": request.build_absolute_uri(
                            reverse("api-stats-dimension", args=[key])
                        ),
                    }
                    for key, d in DIMENSIONS.items()
                ],
            }
        )
        return Response(index.data)


class StatsDimensionView(APIView):
    """One dimension's public figures over a range (default: the last 30 days).

    Differentially private: sums of figures released once per day with noise; see
    ``privacy`` in the answer and in /api/v1/stats/.
    """

    @extend_schema(
        operation_id="stats_dimension_retrieve",
        tags=["statistics"],
        parameters=[
            empty_is_default(
                OpenApiParameter(
                    "from", OpenApiTypes.DATE, description="Default: 29 days before 'to'."
                )
            ),
            empty_is_default(
                OpenApiParameter("to", OpenApiTypes.DATE, description="Default: today.")
            ),
        ],
        responses={200: StatsDimensionSerializer, 400: ERROR_RESPONSE, 404: ERROR_RESPONSE},
    )
    def get(self, request: Request, dimension: str) -> Response:
        if dimension not in DIMENSIONS:
            raise UnknownDimension(f"Unknown dimension; see {reverse('api-stats')}.")
        period = _period(request)
        figures = stats_groups(dimension=dimension, period=period)
        figures["daily"] = stats_shown_series(dimension=dimension, period=period, figures=figures)
        return Response(StatsDimensionSerializer(figures).data)
