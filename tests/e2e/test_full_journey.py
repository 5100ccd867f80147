"""The whole story in a real browser, from a VelaUX report to a verified Parquet export
and a renewal.

VelaUX pages on another origin send reports to /collecting (CORS preflight and all),
the day is released on /stats/ once it has closed, a community member signs up, asks for
access and edits the request on its page, a maintainer approves it in the admin, and the
member reads the rows with a read token, finds a Parquet export in the export history
(page and API), downloads it with its datasheet and checks one against the other. Time
then moves to 14 and 3 days before the grant ends: the reminders are emailed once each
and shown on the timeline, and the member renews the grant from the pre-filled form.
"""

import hashlib
import io
import json
import re
import threading
from collections import Counter
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pyarrow.parquet as pq
import pytest
from django.core import mail
from django.core.management import call_command
from django.core.signals import request_started
from playwright.sync_api import expect

from access_requests import datasheets, grant_scope, services
from access_requests.models import AccessRequest, Export
from ingest.dictionary import dictionary_entry
from ingest.models import Report
from tests.access_requests.factories import JUSTIFICATION
from tests.e2e.conftest import (
    admin_sign_in,
    approve_in_admin,
    file_access_request,
    mint_token,
    screenshot,
    sign_up_and_verify,
)
from tests.support import LOCAL_FIXTURES

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-Passphrase-9"
MEMBER = "analyst@example.org"
# Installations per VelaUX fixture: 20 in all.
FLEET = {"typical-chrome": 10, "fixed-client": 4, "fresh-install": 2, "old-release": 2, "safari": 2}
EDITED_USE = "Follow upgrades per installation over a month, and the addons enabled with them."
ELEMENTS = ["platformID", "requestTime", "version", "enableAddonList", "browserInfo"]
FIELDS = [
    "installation",
    "date",
    "release",
    "git_commit",
    "addons",
    "browser_family",
    "browser_major_version",
    "screen_width",
]

SENDER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>VelaUX</title>
<style>body{font:15px sans-serif;margin:2em}table{border-collapse:collapse}
td,th{border:1px solid #999;padding:.2em .6em;text-align:left}</style></head>
<body data-state="sending">
<h1>VelaUX (another origin)</h1>
<p>This page is served from <code id="origin"></code> and posts telemetry to
<code id="target"></code>.</p>
<table><thead><tr><th>#</th><th>platformID</th><th>version</th><th>HTTP status</th>
<th>response type</th><th>answer</th></tr></thead><tbody id="results"></tbody></table>
<p id="not-cors"></p>
<script type="application/json" id="config">CONFIG</script>
<script>
const config = JSON.parse(document.getElementById("config").textContent);
document.getElementById("origin").textContent = location.origin;
document.getElementById("target").textContent = config.target;

async function send(report) {
  try {
    const response = await fetch(config.target, {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify(report),
    });
    const body = await response.json();
    return {platformID: report.platformID, status: response.status, type: response.type, body};
  } catch (error) {
    return {platformID: report.platformID, error: String(error)};
  }
}

function show(index, report, result) {
  const row = document.createElement("tr");
  const cells = [index + 1, report.platformID, report.version, result.status ?? "-",
    result.type ?? "-", result.body ? JSON.stringify(result.body) : result.error];
  for (const value of cells) {
    const cell = document.createElement("td");
    cell.textContent = value;
    row.appendChild(cell);
  }
  document.getElementById("results").appendChild(row);
}

async function run() {
  const results = [];
  for (const [index, report] of config.reports.entries()) {
    const result = await send(report);
    results.push(result);
    show(index, report, result);
  }
  let notCors;
  try {
    await fetch(config.notCors, {mode: "cors", credentials: "omit"});
    notCors = "readable";
  } catch (error) {
    notCors = "blocked: " + error;
  }
  document.getElementById("not-cors").textContent = config.notCors + " from here: " + notCors;
  window.telemetry = {results, notCors};
  document.body.dataset.state = "done";
}
run();
</script>
</body></html>
"""


def _fleet() -> list[dict]:
    reports = []
    for name, count in FLEET.items():
        payload = json.loads((LOCAL_FIXTURES / f"{name}.json").read_text())
        for n in range(count):
            reports.append({**payload, "platformID": f"journey-{name}-{n:02d}"})
    return reports


class SenderSite:
    """A second web server: its one page plays VelaUX, on an origin of its own."""

    def __init__(self, target: str, not_cors: str, reports: list[dict]):
        config = json.dumps({"target": target, "notCors": not_cors, "reports": reports})
        page = SENDER_PAGE.replace("CONFIG", config.replace("<", "\\u003c")).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def collecting_requests():
    """What reached the portal at /collecting: method and CORS request headers."""
    seen: list[dict] = []

    def record(sender, environ, **kwargs):
        if environ.get("PATH_INFO") == "/collecting":
            seen.append(
                {
                    "method": environ.get("REQUEST_METHOD"),
                    "origin": environ.get("HTTP_ORIGIN"),
                    "asks_method": environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"),
                    "asks_headers": environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", ""),
                }
            )

    request_started.connect(record, dispatch_uid="journey-collecting")
    yield seen
    request_started.disconnect(dispatch_uid="journey-collecting")


def _table_figures(page, title: str) -> dict[str, int]:
    """A statistics table as {group: installation-days}."""
    table = page.get_by_role("table", name=f"{title}: average daily installations")
    figures = {}
    for row in table.locator("tbody tr").all():
        cells = [cell.inner_text().strip() for cell in row.locator("th, td").all()]
        if len(cells) == 3:
            figures[cells[0]] = int(cells[2])
    return figures


def _comparable(row: dict) -> tuple:
    """One exported or API row, with dates as text and the addon map as sorted pairs."""
    values = []
    for name in FIELDS:
        value = row[name]
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, dict):
            value = sorted(value.items())
        elif name == "addons":
            value = sorted(value)
        values.append(value)
    return tuple(values)


def test_reports_from_velaux_end_up_in_a_verified_parquet_export(
    browser,
    live_server,
    maintainer,
    celery_eager,
    export_media,
    collecting_requests,
    settings,
):
    url = live_server.url
    reports = _fleet()

    # 1. VelaUX pages on another origin send their reports, as a browser does.
    velaux = browser.new_context(viewport={"width": 1280, "height": 900})
    sender_page = velaux.new_page()
    with SenderSite(f"{url}/collecting", f"{url}/api/v1/policy", reports) as site:
        origin = urlparse(site.url)
        sender_origin = f"{origin.scheme}://{origin.netloc}"
        assert sender_origin != url  # another origin: the browser applies CORS
        sender_page.goto(site.url)
        expect(sender_page.locator("body")).to_have_attribute("data-state", "done", timeout=60_000)
        screenshot(sender_page, "journey-01-velaux-sends-reports")
        sent = sender_page.evaluate("window.telemetry")
    velaux.close()

    results = sent["results"]
    assert [r["platformID"] for r in results] == [r["platformID"] for r in reports]
    for result in results:
        assert "error" not in result, result
        assert result["status"] == 202, result
        assert result["type"] == "cors", result  # the answer was readable cross-origin
        assert result["body"]["status"] == "accepted" and result["body"]["report"] == "new"
        assert "browserInfo.language" in result["body"]["discarded_fields"], result
    assert sent["notCors"].startswith("blocked"), "only the receiver answers other origins"
    preflights = [r for r in collecting_requests if r["method"] == "OPTIONS"]
    posts = [r for r in collecting_requests if r["method"] == "POST"]
    assert preflights, "the browser sent no CORS preflight"
    assert preflights[0] == {
        "method": "OPTIONS",
        "origin": sender_origin,
        "asks_method": "POST",
        "asks_headers": "content-type",
    }
    assert len(posts) == len(reports)
    assert {p["origin"] for p in posts} == {sender_origin}

    (day,) = {date.fromisoformat(r["body"]["report_date"]) for r in results}
    stored = Report.objects.filter(report_date=day, platform_id__startswith="journey-")
    assert stored.count() == len(reports)
    assert Counter(stored.values_list("release", flat=True)) == {
        "v1.9.4": 10,
        "v1.10.3": 4,
        "v1.10.0": 2,
        "v1.3.6": 2,
        "v1.5.8": 2,
    }

    # 2. Today's reports are not public: a day is released once, after it has closed.
    visitor = browser.new_context(viewport={"width": 1280, "height": 900})
    stats = visitor.new_page()
    stats.goto(f"{url}/stats/")
    expect(stats.get_by_text("No statistics are released for this range yet.")).to_be_visible()
    call_command("rollup", f"--from={day}", f"--to={day}", verbosity=0)
    stats.goto(f"{url}/stats/")
    expect(stats.get_by_text("No statistics are released for this range yet.")).to_be_visible()
    # The day closes (the reports are moved two days back, past any grace period) and
    # is released, once, with noise.
    closed = day - timedelta(days=2)
    stored.update(report_date=closed)
    stored = Report.objects.filter(report_date=closed, platform_id__startswith="journey-")
    call_command("rollup", f"--from={closed}", f"--to={closed}", verbosity=0)
    stats.goto(f"{url}/stats/")
    expect(stats.get_by_text("1 day with released statistics")).to_be_visible()
    expect(stats.get_by_role("heading", name="How the figures are protected")).to_be_visible()
    expect(
        stats.get_by_text("Unit of privacy: one installation's report on one UTC day.")
    ).to_be_visible()
    # What the page lists is what the API gives, noise and all.
    for title, dimension in (("Releases", "release"), ("Addons enabled", "addon")):
        api = visitor.request.get(f"{url}/api/v1/stats/{dimension}").json()
        assert api["days_released"] == 1
        assert _table_figures(stats, title) == {
            g["label"]: g["installation_days"] for g in api["groups"]
        }
    screenshot(stats, "journey-02-public-statistics")
    visitor.close()

    # 3. A community member signs up, verifies the address and files a request.
    member = browser.new_context(viewport={"width": 1280, "height": 900})
    page = member.new_page()
    sign_up_and_verify(
        page, url, MEMBER, PASSWORD, ("journey-03-sign-up", "journey-04-verify-your-email")
    )
    page.goto(f"{url}/access/request/")
    expect(page.get_by_role("heading", name="File an access request")).to_be_visible()

    file_access_request(
        page,
        form={
            "Purpose": "Release adoption and addon use per installation",
            "Justification": JUSTIFICATION,
            "Intended use": "Follow upgrades per installation over a month.",
            "Publication plans": "Aggregates only, on the KubeVela blog.",
            "Affiliation": "Example University",
            "Data from": (day - timedelta(days=30)).isoformat(),
            "Data to": day.isoformat(),
            "Access for (days)": "30",
        },
        datasets=["Pseudonymised daily reports"],
        elements=ELEMENTS,
        shots=("journey-05-request-form", "journey-06-request-filed"),
    )
    filed = AccessRequest.objects.get()
    assert filed.status == "submitted" and filed.elements == sorted(ELEMENTS)
    request_page = f"{url}/access/requests/{filed.pk}/"

    # 4. The request's own page: what was asked, and its timeline. While it waits, the
    # member edits it, and the timeline says which field changed.
    expect(page).to_have_url(request_page)
    expect(page.get_by_role("heading", name=re.compile(rf"Request #{filed.pk}: "))).to_be_visible()
    expect(page.locator("h1 .status")).to_have_text("Submitted")
    page.get_by_role("link", name="Edit this request").click()
    expect(page.get_by_role("heading", name=f"Edit request #{filed.pk}")).to_be_visible()
    expect(page.get_by_label("Intended use")).to_have_value(
        "Follow upgrades per installation over a month."
    )
    page.get_by_label("Intended use").fill(EDITED_USE)
    screenshot(page, "journey-07-edit-the-request")
    page.get_by_role("button", name="Save the changes").click()
    expect(page.get_by_text(f"Request #{filed.pk} is updated.")).to_be_visible()
    timeline = page.locator("ol.timeline")
    expect(timeline.locator("li.event-edited")).to_contain_text(
        "Edited by the applicant: Changed: intended use."
    )
    expect(page.locator("dl.facts")).to_contain_text(EDITED_USE)
    screenshot(page, "journey-08-edited-on-the-timeline")
    filed.refresh_from_db()
    assert filed.intended_use == EDITED_USE and filed.elements == sorted(ELEMENTS)

    # 5. A maintainer approves it in the admin.
    reviewer, admin = admin_sign_in(browser, url, "maria")
    approve_in_admin(
        admin,
        url,
        filed.pk,
        days=30,
        shots=("journey-09-maintainer-approves", "journey-10-approved"),
    )
    reviewer.close()
    filed.refresh_from_db()
    grant = filed.grant
    assert filed.status == "approved"
    assert sorted(grant.elements) == sorted(ELEMENTS) and "reports" in grant.datasets

    # 6. The member mints a read token (shown once) and reads the rows with it.
    page.goto(f"{url}/access/")
    page.get_by_role("link", name=re.compile(rf"#{filed.pk}: ")).click()
    expect(page.get_by_role("heading", name="What was granted")).to_be_visible()
    secret = mint_token(page, url, "adoption notebook", filed.pk)
    assert re.fullmatch(r"tvt_[0-9A-Za-z]{36}", secret), secret
    screenshot(page, "journey-11-token-shown-once")

    api_context = browser.new_context(base_url=url)  # no session: the token alone
    api = api_context.request
    bearer = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/data/reports").status == 401
    answer = api.get("/api/v1/data/reports", headers=bearer)
    assert answer.status == 200, answer.text()
    assert "journey-" not in answer.text()  # platform IDs never leave the server
    page_of_rows = answer.json()
    assert page_of_rows["fields"] == FIELDS
    assert page_of_rows["count"] == len(reports) and page_of_rows["next_cursor"] is None
    api_rows = page_of_rows["results"]
    expected_rows = [
        {
            "installation": grant_scope.pseudonym(grant, row.platform_id),
            "date": row.report_date,
            "release": row.release,
            "git_commit": row.git_commit,
            "addons": row.addons,
            "browser_family": row.browser_family,
            "browser_major_version": row.browser_major_version,
            "screen_width": row.screen_width,
        }
        for row in stored
    ]
    assert sorted(map(_comparable, api_rows)) == sorted(map(_comparable, expected_rows))
    chrome_rows = [r for r in api_rows if r["release"] == "v1.9.4"]
    assert len(chrome_rows) == 10
    assert {
        (r["git_commit"], r["browser_family"], r["browser_major_version"]) for r in chrome_rows
    } == {("git-1a2b3c4", "chrome", 124)}

    # 7. A Parquet export, asked for on the request's page, built, and listed in the
    # export history there and by GET /api/v1/exports.
    page.goto(request_page)
    page.get_by_label("Format").select_option("parquet")
    page.get_by_role("button", name="Ask for an export").click()
    expect(page.get_by_text(re.compile(r"Export #\d+ is (queued|ready)"))).to_be_visible()
    export = Export.objects.get(grant=grant)
    page.goto(request_page)
    exports_table = page.get_by_role("table", name=f"Exports of grant {grant.pk}")
    export_row = exports_table.get_by_role("row", name=re.compile(rf"#{export.pk}\b"))
    expect(exports_table.get_by_role("row")).to_have_count(2)  # the header and this export
    expect(export_row).to_contain_text("Parquet (zstd)")
    expect(export_row).to_contain_text("Ready")
    expect(export_row.locator("td.num").first).to_have_text(str(len(reports)))
    expect(export_row.get_by_role("link", name="Download")).to_be_visible()
    reads = page.get_by_role("table", name=re.compile("reads?, as recorded in the audit log"))
    read_row = reads.get_by_role("row", name="/api/v1/data/reports")
    expect(read_row).to_have_count(1)
    expect(read_row.locator("td.num")).to_have_text(str(len(reports)))
    export_row.scroll_into_view_if_needed()
    screenshot(page, "journey-12-export-history")
    shown_sha256 = export_row.locator("code.hash").inner_text().strip()

    history = api.get("/api/v1/exports", headers=bearer)
    assert history.status == 200, history.text()
    history = history.json()
    assert (history["count"], history["next"], history["previous"]) == (1, None, None)
    (listed,) = history["results"]
    assert listed == api.get(f"/api/v1/exports/{export.pk}", headers=bearer).json()
    assert (listed["id"], listed["state"], listed["format"]) == (export.pk, "ready", "parquet")
    assert listed["sha256"] == shown_sha256 and listed["rows"] == len(reports)
    assert listed["datasheet_url"] == f"{url}/api/v1/exports/{export.pk}/datasheet"

    # 8. The file and its datasheet, downloaded from the history; the datasheet is checked
    # against the file: rows, checksum, period, fields and elements, and the copy inside.
    with page.expect_download() as download_info:
        export_row.get_by_role("link", name="Download").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".parquet")
    blob = Path(download.path()).read_bytes()
    assert hashlib.sha256(blob).hexdigest() == shown_sha256
    by_api = api.get(f"/api/v1/exports/{export.pk}/download", headers=bearer)
    assert by_api.status == 200
    assert by_api.headers["x-checksum-sha256"] == shown_sha256
    assert by_api.body() == blob

    table = pq.read_table(io.BytesIO(blob))
    assert table.num_rows == len(reports)
    assert table.column_names == FIELDS
    assert str(table.schema.field("date").type) == "date32[day]"
    assert str(table.schema.field("browser_major_version").type) == "int32"
    assert sorted(map(_comparable, table.to_pylist())) == sorted(map(_comparable, api_rows))

    with page.expect_download() as sheet_info:
        export_row.get_by_role("link", name=f"Datasheet of export #{export.pk} (JSON)").click()
    sheet = json.loads(Path(sheet_info.value.path()).read_text())
    with page.expect_download() as markdown_info:
        export_row.get_by_role("link", name=f"Datasheet of export #{export.pk} (Markdown)").click()
    markdown = Path(markdown_info.value.path()).read_text()
    assert sheet == api.get(listed["datasheet_url"], headers=bearer).json()
    assert sheet["file_name"] == download.suggested_filename
    assert sheet["sha256"] == hashlib.sha256(blob).hexdigest()
    assert sheet["size_bytes"] == len(blob)
    assert sheet["rows"] == table.num_rows
    assert sheet["period"] == {
        "from": grant.period_start.isoformat(),
        "to": grant.period_end.isoformat(),
    }
    file_dates = set(table.column("date").to_pylist())
    assert all(grant.period_start <= d <= grant.period_end for d in file_dates), file_dates
    assert sheet["fields"] == table.column_names
    assert sorted(e["key"] for e in sheet["elements"]) == sorted(grant.elements)
    assert [f["name"] for e in sheet["elements"] for f in e["fields"]] == FIELDS
    inside = json.loads(pq.read_metadata(io.BytesIO(blob)).metadata[b"datasheet"])
    assert "cannot hold its own checksum" in inside.pop("note")
    assert inside == sheet | {key: None for key in datasheets.AFTER_THE_FILE}
    assert f"`{sheet['sha256']}`" in markdown and f"| Rows | {table.num_rows} |" in markdown

    sheet_page = member.new_page()  # the Markdown as a person reads it
    sheet_page.set_content("<pre></pre>")
    sheet_page.locator("pre").evaluate(
        "(node, text) => { node.textContent = text;"
        " node.style.cssText = 'white-space: pre-wrap; max-width: 1200px; font-size: 13px'; }",
        markdown,
    )
    screenshot(sheet_page, "journey-13-datasheet")
    sheet_page.close()

    # 9. Time moves on: 14 and then 3 days before the grant ends, the reminders go out,
    # once each, and the request's timeline records them.
    mail.outbox.clear()
    fortnight_before = grant.expires_at - timedelta(days=14)
    three_days_before = grant.expires_at - timedelta(days=3)
    assert services.grant_reminders_send(now=fortnight_before) == [(grant.pk, 14)]
    assert services.grant_reminders_send(now=fortnight_before + timedelta(hours=1)) == []
    assert services.grant_reminders_send(now=three_days_before) == [(grant.pk, 3)]
    assert services.grant_reminders_send(now=three_days_before + timedelta(hours=1)) == []
    assert [m.to for m in mail.outbox] == [[MEMBER], [MEMBER]]
    renew_path = f"/access/grants/{grant.pk}/renew/"
    for message, days in zip(mail.outbox, (14, 3), strict=True):
        assert f"ends in {days} days" in message.subject
        links = re.findall(rf"{re.escape(settings.PUBLIC_BASE_URL)}(/\S*)", message.body)
        assert links == [renew_path, f"/access/requests/{filed.pk}/"], message.body
    assert grant.reminders.count() == 2

    page.goto(request_page)
    reminded = page.locator("ol.timeline li.event-reminded")
    expect(reminded).to_have_count(2)
    ends = f"{grant.expires_at:%Y-%m-%d %H:%M} UTC"
    for index, days in enumerate((14, 3)):
        expect(reminded.nth(index)).to_contain_text(
            f"Reminded that access ends: Access ends on {ends}; a reminder was emailed "
            f"{days} days before."
        )
    reminded.first.scroll_into_view_if_needed()
    screenshot(page, "journey-14-reminders-on-the-timeline")

    # 10. The member asks for a renewal from the grant: the form is filled in from it.
    renew = page.get_by_role("link", name="Request renewal")
    expect(renew).to_have_attribute("href", renew_path)  # where the reminders pointed
    renew.click()
    expect(page.get_by_role("heading", name=f"Renew grant #{grant.pk}")).to_be_visible()
    expect(page.get_by_label("Purpose")).to_have_value(filed.purpose)
    expect(page.get_by_label("Intended use")).to_have_value(EDITED_USE)
    expect(page.get_by_label("Data from")).to_have_value(grant.period_start.isoformat())
    expect(page.get_by_label("Data to")).to_have_value(grant.period_end.isoformat())
    expect(page.get_by_label("Pseudonymised daily reports", exact=True)).to_be_checked()
    for element in ELEMENTS:
        title = dictionary_entry(element).title
        box = page.get_by_role("checkbox", name=re.compile(rf"^{re.escape(title)} \(what it"))
        expect(box).to_be_checked()
    page.get_by_label("I accept the data-use terms above").check()
    screenshot(page, "journey-15-renewal-form")
    page.get_by_role("button", name="File the renewal").click()
    expect(page.get_by_text("was filed")).to_be_visible()
    renewal = AccessRequest.objects.get(renewal_of=grant)
    assert renewal.elements == sorted(ELEMENTS) and renewal.intended_use == EDITED_USE
    expect(page).to_have_url(f"{url}/access/requests/{renewal.pk}/")
    expect(page.locator(".renewal-note")).to_have_text(
        f"Renewal of grant #{grant.pk} (request #{filed.pk})."
    )
    screenshot(page, "journey-16-renewal-filed")

    # The original request's page records the renewal, and links it instead of offering
    # another; the reminders' renewal link now leads to the pending renewal.
    page.goto(request_page)
    expect(page.locator("ol.timeline li.event-renewal")).to_contain_text(
        f"Renewal requested as request #{renewal.pk}."
    )
    pending = page.locator(".renewal-pending")
    expect(pending).to_contain_text(f"Renewal requested: request #{renewal.pk}")
    expect(page.get_by_role("link", name="Request renewal")).to_have_count(0)
    pending.scroll_into_view_if_needed()
    screenshot(page, "journey-17-original-request-with-its-renewal")
    page.goto(f"{url}{renew_path}")
    expect(page).to_have_url(f"{url}/access/requests/{renewal.pk}/")
    expect(page.get_by_text("already has a renewal waiting for a decision")).to_be_visible()
    assert AccessRequest.objects.filter(renewal_of=grant).count() == 1

    api_context.close()
    member.close()
