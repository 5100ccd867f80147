from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ingest.parsing import ReportRejected, parse_platform_id
from ingest.selectors import policy_document, policy_get_published
from ingest.services import installation_erase


class PolicyView(APIView):
    """The published data-collection policy: what is collected, how, and for how long."""

    def get(self, request: Request) -> Response:
        version = policy_get_published()
        if version is None:
            return Response(
                {"error": "no_published_policy", "message": "No data policy is published."},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        return Response(policy_document(version))


class InstallationView(APIView):
    """Opt out with erasure: delete every report of one installation.

    Knowing the platform ID is the credential: it is a random value only the
    installation (and this receiver) holds.
    """

    def delete(self, request: Request, platform_id: str) -> Response:
        try:
            platform_id = parse_platform_id(platform_id)
        except ReportRejected as rejected:
            return Response(rejected.as_json(), status=rejected.status)
        deleted = installation_erase(platform_id=platform_id)
        if not deleted:
            return Response(
                {"error": "not_found", "message": "No reports are stored for this installation."},
                status=status.HTTP_404_NOT_FOUND,
            )
        return Response(status=status.HTTP_204_NO_CONTENT)
