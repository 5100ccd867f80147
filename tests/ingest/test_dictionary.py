"""The data dictionary follows the code: the catalogue, the parser's tables, the policy."""

import html
from types import SimpleNamespace

import pytest

from access_requests import grant_scope
from ingest import dictionary, parsing
from ingest.catalogue import ADDON_STATUSES, REPORT_CATALOGUE
from ingest.dimensions import DEVELOPMENT_RELEASES
from ingest.models import PolicyVersion
from ingest.services import policy_version_draft, policy_version_publish
from tests.ingest.test_catalogue import FEATURE_GATES, KUBERNETES_VERSION, with_element

pytestmark = pytest.mark.django_db


def _page(client) -> str:
    response = client.get("/dictionary/")
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_the_page_has_every_element_its_fields_and_their_value_sets(client):
    page = _page(client)
    for element in REPORT_CATALOGUE.elements:
        assert f'id="element-{element.key}"' in page, element.key
    for column in REPORT_CATALOGUE.columns:
        assert f"<code>{column.output}</code>" in page, column.output
    for client_field in REPORT_CATALOGUE.client_fields:
        for name in client_field.stored_names():
            assert f"<code>{name}</code>" in page, name
    value_sets = (
        parsing.CLUSTER_BUCKETS,
        parsing.APP_BUCKETS,
        parsing.BROWSER_FAMILIES,
        {parsing.OTHER_BROWSER},
        ADDON_STATUSES,
    )
    for values in value_sets:
        for value in values:
            assert f"<code>{value}</code>" in page, value
    for release in DEVELOPMENT_RELEASES:
        assert release in page
    for quirk in ("NaN", "Edge, Opera", "on by default", "each browser", "0001-01-01"):
        assert quirk in page


def test_value_sets_are_the_parsers_own_in_their_natural_order():
    entry = dictionary.dictionary_entry("clusterCount")
    assert entry is not None
    (bucket,) = entry.fields
    assert set(bucket.values) == parsing.CLUSTER_BUCKETS
    assert bucket.values.index("<3") < bucket.values.index("<10") < bucket.values.index(">=500")
    browser = dictionary.dictionary_entry("browserInfo")
    assert browser is not None
    family = next(f for f in browser.fields if f.name == "browser_family")
    assert set(family.values) == parsing.BROWSER_FAMILIES | {parsing.OTHER_BROWSER}


def test_a_new_bucket_label_of_the_parser_reaches_the_page(client, monkeypatch):
    monkeypatch.setattr(parsing, "APP_BUCKETS", parsing.APP_BUCKETS | {"<20000"})
    assert "<code><20000</code>" in _page(client)


@pytest.mark.parametrize("extra", [KUBERNETES_VERSION, FEATURE_GATES], ids=["text", "name list"])
def test_an_element_added_to_the_catalogue_gets_its_entry(extra):
    element, client_field, column = extra
    catalogue = with_element(element, client_field, column)
    entry = dictionary.dictionary_entry(element.key, catalogue=catalogue)
    assert entry is not None
    assert entry.anchor == f"element-{element.key}"
    assert entry.client_fields == (client_field.name,)
    assert [(f.name, f.type) for f in entry.fields] == [
        (column.output, dictionary.HUMAN_TYPES[column.kind])
    ]
    assert not entry.approved  # no policy approves it yet
    assert entry.description == element.stored_as
    keys = [e.key for e in dictionary.dictionary_entries(catalogue=catalogue)]
    assert keys == [e.key for e in catalogue.elements]


def test_every_stored_field_is_described_and_typed():
    for column in REPORT_CATALOGUE.columns:
        stored = dictionary.stored_field(column)
        assert stored.description, column.output
        assert stored.type in dictionary.HUMAN_TYPES.values()
    for entry in dictionary.dictionary_entries():
        assert entry.title and entry.title != entry.key
        assert entry.how_read


def test_approved_flags_follow_the_published_policy(client, superuser):
    entries = dictionary.dictionary_entries()
    assert all(entry.approved for entry in entries)
    assert "Approved in version 1" in _page(client)

    draft = policy_version_draft(source=PolicyVersion.objects.get(number=1), actor=superuser)
    draft.elements.filter(key="browserInfo").delete()
    draft.elements.filter(key="installTime").update(note="Edited for version two.")
    policy_version_publish(version=draft, actor=superuser)

    by_key = {entry.key: entry for entry in dictionary.dictionary_entries()}
    assert not by_key["browserInfo"].approved
    assert by_key["version"].approved
    assert by_key["installTime"].description == "Edited for version two."
    page = _page(client)
    assert "version 2" in page
    browser_section = page.split('id="element-browserInfo"')[1].split("</h2>")[0]
    assert "Not approved in version 2" in browser_section
    assert "Approved in version 2" in page.split('id="element-version"')[1].split("</h2>")[0]
    # an older version may still be asked about
    old = dictionary.dictionary_entry("browserInfo", PolicyVersion.objects.get(number=1))
    assert old is not None and old.approved


def test_without_a_published_policy_nothing_is_approved(client):
    PolicyVersion.objects.update(status=PolicyVersion.Status.SUPERSEDED)
    assert not any(entry.approved for entry in dictionary.dictionary_entries())
    assert "No data policy is published" in _page(client)


def test_row_fields_are_what_every_grant_reads_first():
    names = [stored.name for stored in dictionary.row_fields()]
    assert names == ["installation", "date"]
    for elements in ([], ["version"], ["browserInfo", "appCount"]):
        grant = SimpleNamespace(elements=elements)
        assert grant_scope.granted_fields(grant)[:2] == names


def test_the_stats_page_and_the_request_form_link_to_the_dictionary(client, applicant):
    stats = client.get("/stats/").content.decode()
    assert '<a href="/dictionary/">data dictionary</a>' in stats  # beside the nav's link
    client.force_login(applicant)
    form = client.get("/access/request/").content.decode()
    for entry in dictionary.dictionary_entries():
        assert f'href="/dictionary/#{entry.anchor}"' in form
        assert html.escape(entry.title) in form
