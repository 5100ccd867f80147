"""The receiver in the OpenAPI schema: VelaUX's report, the two answers that store or
decline it, and the two receiving paths (plain Django views, which drf-spectacular does
not see). Errors use the API-wide shape, ApiError (portal.api).
"""

from ingest.parsing import MAX_ADDONS, MAX_DEFINITIONS, MAX_NAME_LENGTH

REPORT = {
    "type": "object",
    "description": "A VelaUX daily report. Fields the published policy does not list are "
    "discarded; only their names are counted. A field other than platformID sent as null "
    "is read as not sent.",
    "required": ["platformID"],
    "additionalProperties": True,
    "properties": {
        "platformID": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
        "installTime": {
            "type": "string",
            "nullable": True,
            "description": "RFC 3339, any offset/precision.",
        },
        "version": {"type": "string", "nullable": True, "example": "v1.9.4NaNgit-1a2b3c4"},
        "installID": {
            "type": "string",
            "description": "VelaUX v1.1-v1.2's name for platformID (read when platformID "
            "is absent).",
        },
        "clusterCount": {
            "nullable": True,
            "example": "<10",
            "description": "A bucket label; VelaUX v1.1-v1.2 send the raw count, which "
            "becomes its label on arrival and is not kept.",
            "anyOf": [{"type": "string"}, {"type": "integer", "minimum": 0}],
        },
        "appCount": {
            "nullable": True,
            "example": "<50",
            "description": "As clusterCount.",
            "anyOf": [{"type": "string"}, {"type": "integer", "minimum": 0}],
        },
        "enableAddList": {
            "type": "array",
            "nullable": True,
            "description": "VelaUX v1.1-v1.2's addons; an addon in another phase than "
            "enabled, enabling or disabling is left out.",
            "maxItems": MAX_ADDONS,
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "maxLength": MAX_NAME_LENGTH},
                    "phase": {"type": "string"},
                },
            },
        },
        "enableAddonList": {
            "type": "object",
            "nullable": True,
            "maxProperties": MAX_ADDONS,
            "additionalProperties": {
                "type": "string",
                "enum": ["enabled", "enabling", "disabling"],
            },
        },
        **{
            name: {
                "type": "array",
                "nullable": True,
                "maxItems": MAX_DEFINITIONS,
                "items": {"type": "string", "maxLength": MAX_NAME_LENGTH},
            }
            for name in (
                "componentDefinitionTopList",
                "traitDefinitionTopList",
                "workflowStepDefinitionTopList",
                "policyDefinitionTopList",
            )
        },
        "browserInfo": {
            "type": "object",
            "nullable": True,
            "properties": {
                "nameAndVersion": {
                    "type": "string",
                    "nullable": True,
                    "example": "chrome124.0.0.0",
                },
                "screenWidth": {
                    "type": "integer",
                    "nullable": True,
                    "minimum": 0,
                    "maximum": 100000,
                    "description": "0 (no screen reported) is stored as unknown.",
                },
            },
            "additionalProperties": True,
        },
    },
}
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


def _receiver_operation(operation_id: str, summary: str) -> dict:
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


def add_receiver_to_schema(result, generator, request, public):
    """The receiver is a plain Django view (it is the hot path); describe it here."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(
        {
            "VelaUXReport": REPORT,
            "ReportAccepted": ACCEPTED,
            "ReportNotStored": NOT_STORED,
        }
    )
    result["paths"]["/collecting"] = _receiver_operation(
        "collecting_create", "Receive a VelaUX report (VelaUX's path)"
    )
    result["paths"]["/api/v1/reports"] = _receiver_operation(
        "reports_create", "Receive a report (the same receiver under the API prefix)"
    )
    return result
