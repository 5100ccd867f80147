"""Helpers shared by the tests of grants, the data API and exports."""

import csv
import gzip
import io
import json
from datetime import date

import pyarrow.parquet as pq

from access_requests import export_files, services
from tests.access_requests.factories import JUSTIFICATION, file_request

# The period most grants of these tests cover: February 2026.
PERIOD = (date(2026, 2, 1), date(2026, 2, 28))
REQUEST_ELEMENTS = ("platformID", "requestTime", "enableAddonList", "version")


def grant_for(
    applicant, reviewer, *, elements=REQUEST_ELEMENTS, datasets=("reports", "rollups"), **scope
):
    """A grant of what the applicant asked for (January to June 2026), narrowed by the
    reviewer to PERIOD; ``scope`` overrides the approval's narrowing."""
    filed = file_request(
        applicant,
        elements=list(elements),
        datasets=list(datasets),
        period_start=date(2026, 1, 1),
        period_end=date(2026, 6, 30),
    )
    approval = {"period_start": PERIOD[0], "period_end": PERIOD[1]} | scope
    return services.access_request_approve(request=filed, reviewer=reviewer, **approval)


def data_api_get(client, secret, path="/api/v1/data/reports", **params):
    return client.get(path, params, HTTP_AUTHORIZATION=f"Bearer {secret}")


def data_api_rows(client, secret, **params) -> list[dict]:
    """Every row of the data API's report pages, following the cursors."""
    rows, cursor = [], None
    while True:
        cursor_param = {"cursor": cursor} if cursor else {}
        page = data_api_get(client, secret, **params, **cursor_param).json()
        rows += page["results"]
        cursor = page["next_cursor"]
        if not cursor:
            return rows


def export_file_rows(file_format: str, blob: bytes) -> list[dict]:
    """The rows of a downloaded export file, as its format gives them."""
    if file_format == "jsonl":
        return [json.loads(line) for line in gzip.decompress(blob).decode().splitlines()]
    if file_format == "csv":
        reader = csv.DictReader(io.StringIO(gzip.decompress(blob).decode()))
        return list(reader)
    table = pq.read_table(io.BytesIO(blob))
    return table.to_pylist()


def export_row_as_api_row(file_format: str, row: dict) -> dict:
    """An exported row in the data API's JSON terms, so that the two compare equal."""
    out = {}
    for key, value in row.items():
        if file_format == "csv" and key in export_files.JSON_FIELDS:
            value = json.loads(value) if value else None
        if file_format == "parquet" and key == "addons" and value is not None:
            value = dict(value)
        if isinstance(value, date):
            value = value.isoformat()
        if file_format == "csv" and value == "":
            value = None
        if isinstance(value, str) and value.startswith("'") and file_format == "csv":
            value = value[1:]
        out[key] = value
    return out


def request_form_data(**overrides) -> dict:
    """What an applicant posts to /access/request/: a valid request, unless overridden."""
    data = {
        "purpose": "Which addons go together",
        "justification": JUSTIFICATION,
        "intended_use": "Weekly counts of addon pairs.",
        "publication_plans": "A blog post.",
        "affiliation": "Example Org",
        "datasets": ["rollups"],
        "elements": ["enableAddonList"],
        "period_start": "2026-01-01",
        "period_end": "2026-03-31",
        "duration_days": "60",
        "accept_terms": "on",
    }
    data.update(overrides)
    return data
