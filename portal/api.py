"""API-wide conventions: one error shape, the API's 404, and the schema's allowEmptyValue.

The receiver's description in the schema is ingest's (ingest.api.schema).
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.views import exception_handler


def api_exception_handler(exc, context):
    """Errors as {"error": code, "message": text}, like the receiver's."""
    response = exception_handler(exc, context)
    if response is None:
        return None
    detail = getattr(exc, "detail", None)
    codes = exc.get_codes() if hasattr(exc, "get_codes") else "error"
    if isinstance(detail, list) and len(detail) == 1 and isinstance(detail[0], str):
        # One message (a ValidationError raised with a string): it is the message.
        code = codes[0] if isinstance(codes, list) and isinstance(codes[0], str) else "invalid"
        response.data = {"error": code, "message": str(detail[0])}
    elif isinstance(detail, dict | list):
        response.data = {
            "error": "invalid_parameter",
            "message": _summary(detail),
            "fields": response.data,
        }
    else:
        response.data = {
            "error": codes if isinstance(codes, str) else "error",
            "message": str(detail),
        }
        if getattr(exc, "field_name", None):  # the field a receiver-style refusal names
            response.data["field"] = exc.field_name
    return response


def _summary(detail) -> str:
    """Every problem in one line: "from: Enter a valid date. limit: Must be at most 1000."."""
    if isinstance(detail, dict):
        parts = [f"{name}: {_summary(errors)}" for name, errors in detail.items()]
    elif isinstance(detail, list):
        parts = [_summary(error) for error in detail]
    else:
        return str(detail)
    return " ".join(parts) or "Invalid input."


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """An address under /api/ that matches no route (an export id that is not a number, a
    platformID with a slash) is answered in the API's error shape, not with the HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": "not_found", "message": "No API operation has this address; see /api/docs/."},
            status=404,
        )
    return page_not_found(request, exception)


ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string"},
        "field": {"type": "string"},
        "fields": {
            "description": "With error invalid_parameter from the data API: the messages, as "
            "a list or per field."
        },
    },
}


def api_error(description: str) -> OpenApiResponse:
    """A documented error answer: the JSON error shape, for views annotated with drf-spectacular."""
    return OpenApiResponse({"$ref": "#/components/schemas/ApiError"}, description=description)


# drf-spectacular cannot emit allowEmptyValue itself: parameters carry this mark, and the
# schema hook below turns it into the standard keyword.
EMPTY_IS_DEFAULT = "x-empty-is-default"


def empty_is_default(parameter: OpenApiParameter) -> OpenApiParameter:
    """A query parameter whose empty value (`?from=`) is read as if it were absent."""
    parameter.extensions = {**(parameter.extensions or {}), EMPTY_IS_DEFAULT: True}
    return parameter


def add_api_conventions_to_schema(result, generator, request, public):
    """The error shape as a component (ApiError), and query parameters marked with
    empty_is_default() given the standard allowEmptyValue."""
    for operations in result["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.pop(EMPTY_IS_DEFAULT, False):
                    parameter["allowEmptyValue"] = True
    result.setdefault("components", {}).setdefault("schemas", {})["ApiError"] = ERROR
    return result
