"""An export's datasheet: what the file holds, where it comes from, and how to cite it.

One document, built from the Export row, in two spellings: JSON for machines and
Markdown for people, both served beside the file. Parquet also carries the JSON in its
own footer (key ``datasheet``), written as the file is closed; that copy cannot hold the
file's SHA-256, size or expiry, which only exist once the file does, and says so. CSV and
JSON Lines carry nothing inside: a comment line would be read as a row by CSV readers,
and a JSON Lines file whose first object is not a row would be mistaken for one. Their
datasheet sits beside them and names them by checksum.
"""

import json
import math
from datetime import datetime

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation

from access_requests import grant_scope
from access_requests.export_files import EXTENSIONS
from access_requests.models import Export
from ingest.catalogue import REPORT_CATALOGUE
from ingest.dictionary import StoredField, dictionary_entries
from portal.mail import plain_text_render

DATASHEET_VERSION = 1
PUBLISHER = "KubeVela community telemetry portal"
FIELD_TYPES = REPORT_CATALOGUE.parquet_types()
# What exists only once the file does: left out of the copy inside a Parquet file.
AFTER_THE_FILE = ("sha256", "size_bytes", "finished_at", "expires_at")
IN_FILE_NOTE = (
    "This copy is inside the file, written as it was closed: a file cannot hold its own "
    "checksum, so sha256, size_bytes, finished_at and expires_at are null here. The "
    "datasheet beside the file has them."
)
EMBEDDING = {
    "csv": "Nothing inside the file: a comment line would be read as a row. This datasheet "
    "sits beside it and names it by its SHA-256.",
    "jsonl": "Nothing inside the file: every line is a row. This datasheet sits beside it "
    "and names it by its SHA-256.",
    "parquet": "Also in the file's key-value metadata, key 'datasheet' (JSON), without the "
    "file's own checksum.",
}

PSEUDONYM_SCOPE = (
    "'installation' is an HMAC-SHA256 of the installation's platformID under a key of "
    "grant #{grant} alone, cut to 32 hex characters. It is the same for one installation "
    "in every export and data API read of this grant, so rows link within the grant; it "
    "is unrelated in any other grant, so rows never link across grants. The key never "
    "leaves the server and the platformID is never exported."
)

# Who sends and who does not: read from VelaUX's code and the 2022 review.
KNOWN_BIASES = (
    "Only installations that run VelaUX, KubeVela's web dashboard, send, and only on days "
    "someone opens VelaUX in a browser: KubeVela used from the CLI or GitOps alone never "
    "sends. A row means 'VelaUX was opened that day', not 'the installation ran'.",
    "VelaUX sends from the user's browser, once a day per browser (a 24-hour cookie), "
    "not per installation; the portal keeps one row per installation and UTC day, the "
    "last report received. Installations with more users or more days of use are "
    "over-represented in counts of rows.",
    "Collection is switched on by default in VelaUX (an opt-out switch in Platform "
    "Settings), although the 2022 review approved opt-in. Installations that switched it "
    "off are absent, and who switches it off is unknown.",
    "Air-gapped installations, and networks or browsers that block telemetry.kubevela.net "
    "or user.kubevela.net (firewalls, DNS, proxies, privacy extensions), never send.",
    "VelaUX v1.3.0 and v1.3.1 send nothing. v1.1 to v1.2 send an older shape to "
    "user.kubevela.net: no browser information, no definition lists, raw counts stored "
    "only as their bucket.",
    "Browser fields describe the browser of whoever sent the day's last report, not the "
    "installation. 'chrome' includes Edge, Opera and other Chromium browsers; 'safari' "
    "includes every browser on iOS; IE11, Presto Opera and iOS in-app views send nothing.",
    "Cluster-count buckets were '<3 <10 <50 >=50' in kubevela v1.3.2 to v1.4.5: their "
    "'>=50' overlaps today's buckets from '<100' up.",
    "A platformID is made once per VelaUX datastore: a reinstallation or a new datastore "
    "appears as a new installation.",
    "Installations that opted out with erasure have none of their reports here, and "
    "reports older than the retention period are deleted: a period reaching further back "
    "holds fewer rows.",
)


def public_url(name: str, fallback: str, *args) -> str:
    """An absolute link for a document that travels without the site: PUBLIC_BASE_URL
    and the route, or ``fallback`` where the route is not installed."""
    try:
        path = reverse(name, args=args)
    except NoReverseMatch:
        path = fallback
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def file_name(export: Export) -> str:
    extension = EXTENSIONS[export.format]
    return f"kubevela-telemetry-grant{export.grant_id}-export{export.pk}.{extension}"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _elements(export: Export) -> list[dict]:
    """The granted elements, in the file's field order, each with its dictionary entry."""
    grant = export.grant
    policy = grant.request.policy_version
    entries = {entry.key: entry for entry in dictionary_entries(policy)}
    out = []
    for key, fields in grant_scope.ELEMENT_FIELDS.items():
        if key not in grant.elements:
            continue
        entry = entries[key]  # the dictionary covers every element the catalogue stores
        stored = {field.name: field for field in entry.fields}
        out.append(
            {
                "key": key,
                "title": entry.title,
                "description": entry.description,
                "client_fields": list(entry.client_fields),
                "how_read": entry.how_read,
                "quirks": list(entry.quirks),
                "fields": [_field(name, stored.get(name)) for name in fields],
                "dictionary_url": _dictionary_url(entry.anchor),
            }
        )
    return out


def _field(name: str, stored: StoredField | None) -> dict:
    return {
        "name": name,
        "type": FIELD_TYPES[name],  # as Parquet stores it; CSV and JSON Lines write it as text
        "meaning": stored.type if stored else "",
        "values": list(stored.values) if stored else [],
        "description": stored.description if stored else "",
    }


def _dictionary_url(anchor: str = "") -> str:
    url = public_url("data-dictionary", "/dictionary/")
    return f"{url}#{anchor}" if anchor else url


def _citation(export: Export) -> dict:
    read_on = (export.started_at or export.created_at).date()
    title = (
        f"KubeVela community telemetry: pseudonymised daily VelaUX reports, "
        f"{export.period_start} to {export.period_end} (export #{export.pk})"
    )
    url = public_url("access-export-datasheet", "", export.pk)
    text = f"{PUBLISHER}. ({read_on.year}). {title}. {url} (accessed {read_on.isoformat()})."
    return {
        "title": title,
        "publisher": PUBLISHER,
        "year": read_on.year,
        "export": export.pk,
        "url": url,
        "accessed": read_on.isoformat(),
        "text": text,
    }


def export_datasheet(export: Export, *, rows: int | None = None, in_file: bool = False) -> dict:
    """The datasheet of an export: from its row once built, or, for the copy inside a
    Parquet file (``in_file``), with the row count the writer has just counted.

    In English whatever the page's language: it is a machine document, like the file."""
    with translation.override(settings.LANGUAGE_CODE):
        return _export_datasheet(export, rows=rows, in_file=in_file)


def _export_datasheet(export: Export, *, rows: int | None, in_file: bool) -> dict:
    grant = export.grant
    policy = grant.request.policy_version
    sheet = {
        "datasheet_version": DATASHEET_VERSION,
        "title": _citation(export)["title"],
        "export": export.pk,
        "grant": grant.pk,
        "request": grant.request_id,
        "format": export.format,
        "file_name": file_name(export),
        "embedded": EMBEDDING[export.format],
        "period": {"from": export.period_start.isoformat(), "to": export.period_end.isoformat()},
        "rows": rows if in_file else export.rows,
        "sha256": None if in_file else export.sha256 or None,
        "size_bytes": None if in_file else export.size_bytes,
        "created_at": _iso(export.created_at),
        "finished_at": None if in_file else _iso(export.finished_at),
        "expires_at": None if in_file else _iso(export.expires_at),
        "policy_version": {
            "number": policy.number,
            "approved_on": policy.approved_on.isoformat() if policy.approved_on else None,
            "approval_reference": policy.approval_reference,
            "url": public_url("policy-history", "/policy/"),
        },
        "terms_version": grant.request.terms.version,
        "fields": grant_scope.granted_fields(grant),
        "elements": _elements(export),
        "data_dictionary_url": _dictionary_url(),
        "pseudonym_scope": PSEUDONYM_SCOPE.format(grant=grant.pk),
        "known_biases": list(KNOWN_BIASES),
        "citation": _citation(export),
    }
    if in_file:
        sheet["note"] = IN_FILE_NOTE
    return sheet


def export_datasheet_json(export: Export) -> str:
    return json.dumps(export_datasheet(export), indent=2, ensure_ascii=False) + "\n"


def export_datasheet_markdown(export: Export) -> str:
    sheet = export_datasheet(export)
    with translation.override(settings.LANGUAGE_CODE):
        return plain_text_render(
            "access_requests/datasheet.md",
            {"sheet": sheet, "size": _size(sheet["size_bytes"]), "now": timezone.now()},
        )


def _size(size: int | None) -> str:
    if size is None:
        return ""
    if size < 1024:
        return f"{size} bytes"
    exponent = min(int(math.log(size, 1024)), 3)
    return f"{size / 1024**exponent:.1f} {('bytes', 'KiB', 'MiB', 'GiB')[exponent]}"
