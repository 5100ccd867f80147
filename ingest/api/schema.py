"""The receiver in the OpenAPI schema: VelaUX's payload, the answers, the two paths.

The receiver is a plain Django view (it is the hot path), so drf-spectacular does not
see it; add_receiver_to_schema (a SPECTACULAR_SETTINGS postprocessing hook) adds what
this module describes. Errors use the API-wide shape, ApiError (portal.api). The payload
schema is built from the catalogue, so it states the parser's own limits.
"""

import copy
from typing import Any

from ingest.catalogue import REPORT_CATALOGUE, Catalogue


def report_schema(catalogue: Catalogue) -> dict[str, Any]:
    """The schema of a VelaUX report: every client field the catalogue reads, in its order."""
    required = catalogue.required_keys()
    return {
        "type": "object",
        "description": "A VelaUX daily report. Fields the published policy does not list are "
        "discarded; only their names are counted. A field other than platformID sent as null "
        "is read as not sent.",
        "required": [
            f.name for f in catalogue.client_fields if f.element in required and not f.legacy
        ],
        "additionalProperties": True,
        "properties": {f.name: copy.deepcopy(f.schema) for f in catalogue.client_fields},
    }


REPORT = report_schema(REPORT_CATALOGUE)


ACCEPTED = {
    "type": "object",
    "required": ["status", "report", "report_date", "policy_version", "discarded_fields"],
    "properties": {
        "status": {"type": "string", "enum": ["accepted"]},
        "report": {"type": "string", "enum": ["new", "replaced"]},
        "report_date": {"type": "string", "format": "date"},
        "policy_version": {"type": "integer"},
        "discarded_fields": {"type": "array", "items": {"type": "string"}},
    },
}


NOT_STORED = {
    "type": "object",
    "required": ["status", "reason", "message", "report_date", "policy_version"],
    "properties": {
        "status": {"type": "string", "enum": ["not_stored"]},
        "reason": {"type": "string", "enum": ["daily_limit_reached"]},
        "message": {"type": "string"},
        "report_date": {"type": "string", "format": "date"},
        "policy_version": {"type": "integer"},
    },
}


def receiver_operation(operation_id: str, summary: str) -> dict:
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}}
    return {
        "post": {
            "operationId": operation_id,
            "summary": summary,
            "tags": ["receiver"],
            "security": [],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/VelaUXReport"}}
                },
            },
            "responses": {
                "202": {
                    "description": "Stored (committed) as the installation's report of "
                    "the UTC day.",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/ReportAccepted"}
                        }
                    },
                },
                "200": {
                    "description": "Not stored: the installation has sent today's maximum; "
                    "the day's report stands. A 2xx, because a retry could not help and "
                    "VelaUX re-sends after anything else.",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/ReportNotStored"}
                        }
                    },
                },
                **{
                    code: {"description": text, **error}
                    for code, text in (
                        ("400", "Malformed JSON or an invalid field (named in the error)."),
                        ("405", "Only POST and OPTIONS."),
                        ("413", "Body over 64 KiB."),
                        ("415", "Content-Type is not application/json."),
                        ("429", "The global ceiling is reached; see Retry-After."),
                        ("503", "Storage unavailable or no published policy; see Retry-After."),
                    )
                },
            },
        }
    }


RECEIVER_SCHEMAS = {
    "VelaUXReport": REPORT,
    "ReportAccepted": ACCEPTED,
    "ReportNotStored": NOT_STORED,
}


def receiver_paths() -> dict[str, dict]:
    return {
        "/collecting": receiver_operation(
            "collecting_create", "Receive a VelaUX report (VelaUX's path)"
        ),
        "/api/v1/reports": receiver_operation(
            "reports_create", "Receive a report (the same receiver under the API prefix)"
        ),
    }


def add_receiver_to_schema(result, generator, request, public):
    """The receiver is a plain Django view (it is the hot path); describe it here."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(RECEIVER_SCHEMAS)
    result["paths"].update(receiver_paths())
    return result
