from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from ingest.selectors import policy_get_published


def home(request: HttpRequest) -> HttpResponse:
    version = policy_get_published()
    return render(request, "portal/home.html", {"policy": version})


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches neither the database nor Redis."""
    return JsonResponse({"status": "ok"})
