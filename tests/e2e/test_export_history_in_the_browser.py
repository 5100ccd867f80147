"""The grantee's export history, on the request's page in a real browser: the datasheet beside
the file, and true."""

import gzip
import hashlib
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from access_requests import services
from access_requests.models import Export
from ingest.models import Report
from tests.access_requests.helpers import PERIOD, grant_for
from tests.e2e.conftest import screenshot, sign_in
from tests.ingest.factories import report_row
from tests.personas import PASSWORD, persona_create

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_grantee_downloads_an_export_and_its_datasheet_and_they_match(
    browser, live_server, celery_eager, export_media
):
    url = live_server.url
    Report.objects.bulk_create(
        report_row(f"e2e-install-{n}", PERIOD[0] + timedelta(days=day))
        for day in range(10)
        for n in range(3)
    )
    gina = persona_create("gina")
    grant = grant_for(gina, persona_create("maria"))
    export = services.export_request(
        grant=grant, user=gina, file_format="jsonl", first=PERIOD[0], last=PERIOD[1]
    )
    services.export_build(export_id=export.pk)
    other = services.export_request(grant=grant, user=gina, file_format="csv")

    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    sign_in(page, url, gina.email, PASSWORD, "/access/")
    page.goto(f"{url}/access/requests/{grant.request_id}/")  # where the grant is shown
    history = page.get_by_role("table", name=f"Exports of grant {grant.pk}")
    row = history.get_by_role("row", name=re.compile(rf"#{export.pk}\b"))
    expect(row).to_contain_text("JSON Lines (gzip)")
    expect(row).to_contain_text("Ready")
    expect(row).to_contain_text("30")
    markdown_link = row.get_by_role("link", name=f"Datasheet of export #{export.pk} (Markdown)")
    expect(markdown_link).to_be_visible()
    expect(history.get_by_role("row")).to_have_count(3)  # the header, then newest first
    expect(history.get_by_role("row").nth(1)).to_contain_text(f"#{other.pk}")
    row.scroll_into_view_if_needed()
    screenshot(page, "exports-1-history-with-datasheets")

    with page.expect_download() as file_download:
        row.get_by_role("link", name="Download").click()
    blob = Path(file_download.value.path()).read_bytes()
    with page.expect_download() as sheet_download:
        row.get_by_role("link", name=f"Datasheet of export #{export.pk} (JSON)").click()
    assert sheet_download.value.suggested_filename.endswith("-datasheet.json")
    sheet = json.loads(Path(sheet_download.value.path()).read_text())
    with page.expect_download() as markdown_download:
        markdown_link.click()
    markdown = Path(markdown_download.value.path()).read_text()

    rows = [json.loads(line) for line in gzip.decompress(blob).decode().splitlines()]
    assert sheet["sha256"] == hashlib.sha256(blob).hexdigest()
    assert sheet["rows"] == len(rows) == 30
    assert sheet["period"] == {"from": "2026-02-01", "to": "2026-02-28"}
    assert sheet["fields"] == list(rows[0])
    assert sorted(e["key"] for e in sheet["elements"]) == sorted(grant.elements)
    assert f"`{sheet['sha256']}`" in markdown and f"| Rows | {len(rows)} |" in markdown
    assert file_download.value.suggested_filename == sheet["file_name"]

    # The Markdown as a person reads it, for the screenshot.
    page.set_content("<pre></pre>")
    page.locator("pre").evaluate(
        "(node, text) => { node.textContent = text;"
        " node.style.cssText = 'white-space: pre-wrap; max-width: 1200px; font-size: 13px'; }",
        markdown,
    )
    screenshot(page, "exports-2-datasheet-markdown")
    context.close()
    assert Export.objects.filter(grant=grant).count() == 2
