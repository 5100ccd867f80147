from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ingest.parsing import PLATFORM_ID
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
        if not PLATFORM_ID.fullmatch(platform_id):
            return Response(
                {"error": "invalid_field", "field": "platformID",
                 "message": "platformID: must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        deleted = installation_erase(platform_id=platform_id)
        if not deleted:
            return Response(
                {"error": "not_found", "message": "No reports are stored for this installation."},
                status=status.HTTP_404_NOT_FOUND,
            )
        return Response(status=status.HTTP_204_NO_CONTENT)
