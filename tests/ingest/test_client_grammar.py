"""What VelaUX can send, as a grammar: every payload of it is answered 2xx and stored as documented.

The grammar is read from ``../shared/context/velaux-client.md`` and the client's code it cites
(``getBrowserNameAndVersion`` in ``packages/velaux-ui/src/utils/utils.ts``: its regular
expressions carry the ``g`` flag, so every further match is appended after a comma, which is
where ``ie8.0,msie6.0`` comes from). Today's shape and the v1.1-v1.2 shape are generated
separately; for each payload the expected row is computed from the grammar, not by the
parser, and the whole stored row must equal it (every column, so no raw count can hide in
one). The per-installation daily limit is exercised too: a payload is sent up to three
times under a limit of two, and the third answer must be the 200 ``not_stored``.

Each quirk of velaux-client.md and the test that covers it ("here" = this module):

- CORS preflight and headers, no credentials: test_receiver.py
  ``test_it_answers_the_cors_preflight``, ``test_it_accepts_every_velaux_payload_with_cors``;
  any origin: here ``test_any_origin_gets_cors_headers_without_credentials``
- no Authorization, no cookies, so no CSRF token: here
  ``test_a_cross_site_post_without_cookies_or_csrf_token_is_accepted``
- several browsers of one installation send: one row per installation and day:
  test_receiver.py ``test_a_later_report_the_same_day_replaces_the_earlier``; here the properties
- retries after anything but a 2xx; over the daily limit a 200 ``not_stored``: test_receiver.py
  ``test_over_its_daily_limit_an_installation_gets_a_2xx_that_says_not_stored``,
  test_velaux_releases.py ``test_sixty_reports_a_day_are_all_answered_2xx_and_one_row_remains``;
  here the properties (every payload of the grammar gets a 2xx)
- platformID, 16 characters of rand.String's alphabet: here the properties
- installTime in RFC 3339 with 0-9 fractional digits and the server's offset:
  test_receiver.py ``test_install_time_is_stored_as_a_utc_date``; the ends of the offset range:
  here ``test_install_time_offsets_at_the_ends_of_the_range``; here the properties
- Go's zero time stores no install date: test_velaux_releases.py
  ``test_go_zero_time_stores_no_install_date``; here
  ``test_each_quirk_fixture_is_answered_2xx_and_stored_as_documented`` and the properties
- the NaN version forms and the fixed client's ``/``: test_receiver.py
  ``test_it_splits_the_version_and_never_keeps_the_nan_artefact``; development builds
  (latest, main, master, undefined, UNKNOWN): here ``test_development_build_versions_are_kept``
- clusterCount labels of every set (current, ``<3 <10 <50 >=50``, the app buckets) and ``""``;
  appCount labels and ``""``: test_receiver.py ``test_it_stores_bucket_labels_or_unknown``
  (five pairs); every label: here ``test_every_documented_cluster_label_is_stored_as_sent``,
  ``test_every_documented_app_label_is_stored_as_sent``
- enableAddonList with every status, ``{}``, no cap: test_velaux_releases.py
  ``test_more_than_fifty_addons_are_accepted_and_stored``; up to MAX_ADDONS:
  here ``test_addons_up_to_the_bound_with_every_status_are_stored``
- a definition-list key is missing when the list is empty: test_receiver.py
  ``test_missing_definition_lists_are_empty`` (three of four); all four:
  here ``test_all_four_definition_lists_missing_store_empty_lists``
- policy definitions belong to xDefinitionTopList; names most used first, with revisions:
  here ``test_the_four_definition_lists_are_stored_in_order_with_revisions``
- names as long as Kubernetes allows (253), revisions included: here
  ``test_names_as_long_as_kubernetes_allows_are_stored`` (test_receiver.py refuses 254)
- nameAndVersion: chrome, firefox, ie, ``safari/605.1.15``, ``ie8.0,msie6.0``, no edge family:
  test_receiver.py ``test_it_parses_browser_family_and_major_version``; test_velaux_releases.py
  ``test_two_msie_tokens_read_as_internet_explorer``; iOS ``safari/604.1`` and the other
  comma-joined forms of the ``g`` flag: here ``test_more_browser_strings_the_client_can_build``
- screenWidth stored: test_receiver.py (browser test); here the properties
- language and screenHeight discarded, never stored: test_receiver.py
  ``test_it_discards_unapproved_fields_and_counts_only_their_names``; test_privacy.py
  ``test_no_address_or_dropped_value_reaches_the_database_or_the_logs``; here the properties
  (``discarded_fields`` and the whole row)
- no requestTime: the receiver stamps the date: test_receiver.py
  ``test_request_time_is_stamped_by_the_server``
- no clientIP or region, none derived: test_privacy.py (above); test_receiver.py
  ``test_no_rate_limit_key_contains_an_address``
- the v1.1-v1.2 shape (installID, raw counts, enableAddList): test_velaux_releases.py
  ``test_the_legacy_shape_is_read_into_todays_coarse_form``,
  ``test_a_raw_count_becomes_its_bucket``, ``test_legacy_addons_in_another_phase_are_not_enabled``,
  ``test_no_raw_count_reaches_the_database_or_the_logs``; here
  ``test_any_payload_of_the_v1_2_client_is_accepted_and_stored_as_documented`` (with any of
  version, appCount, clusterCount, enableAddList missing, as v1.2's TopBar can send); its second
  host: here ``test_the_legacy_client_is_received_on_its_own_host``
- v1.2 with no running addon sends ``"enableAddList": null`` (read from its code, not in
  velaux-client.md): here ``test_a_v1_2_client_without_a_running_addon_is_accepted``, an
  expected failure (strict): the receiver refuses it with a 400, a product bug
- the four fixtures of velaux-quirks/: test_velaux_releases.py (one aspect each); the whole row:
  here ``test_each_quirk_fixture_is_answered_2xx_and_stored_as_documented``
- not testable at the receiver: the trigger and its cookie, IE11 / Presto / iOS web views
  (nothing is sent), v1.3.0-v1.3.1 (nothing is sent), collection on by default (transparency
  pages, not the receiver).
"""

import json
from datetime import date, datetime, timedelta

import pytest
from django.test import Client, override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from ingest.models import Report
from ingest.parsing import MAX_ADDONS, MAX_BODY_BYTES
from ingest.selectors import policy_get_published
from tests.ingest.helpers import post_report
from tests.support import LOCAL_FIXTURES, quirk_fixture

# --- the grammar, from velaux-client.md (deliberately not imported from ingest.parsing) ----

RAND_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand
KUBERNETES_NAME = 253
CLUSTER_LABELS = ["<3", "<10", "<50", "<100", "<150", "<200", "<300", "<500", ">=500"]
OLD_CLUSTER_LABELS = ["<3", "<10", "<50", ">=50"]
APP_LABELS = ["<10", "<50", "<100", "<500", "<2000", "<5000", "<10000", ">=10000"]
CLUSTER_VALUES = sorted({*CLUSTER_LABELS, *OLD_CLUSTER_LABELS, *APP_LABELS, ""})
ADDON_STATUSES = ("enabled", "enabling", "disabling")
# v1.2 lists only running addons ("enabled"); other phases are read as not enabled
LEGACY_PHASES = (*ADDON_STATUSES, "disabled", "suspend")
DEVELOPMENT_RELEASES = ("latest", "main", "master", "undefined", "UNKNOWN")
DISCARDED = ["browserInfo.language", "browserInfo.screenHeight"]
DEFINITION_COLUMNS = {
    "componentDefinitionTopList": "component_definitions",
    "traitDefinitionTopList": "trait_definitions",
    "workflowStepDefinitionTopList": "workflow_step_definitions",
    "policyDefinitionTopList": "policy_definitions",
}
KNOWN_ADDONS = ["fluxcd", "velaux", "vela-prism", "terraform", "terraform-aws", "kruise-rollout",
                "observability", "vela-workflow", "cert-manager", "ocm-hub"]  # fmt: skip
KNOWN_DEFINITIONS = {
    "componentDefinitionTopList": ["webservice", "worker", "task", "cron-task", "k8s-objects",
                                   "helm", "kustomize"],
    "traitDefinitionTopList": ["scaler", "gateway", "sidecar", "expose", "storage", "labels"],
    "workflowStepDefinitionTopList": ["deploy", "suspend", "apply-component", "notification",
                                      "webhook", "step-group"],
    "policyDefinitionTopList": ["topology", "override", "garbage-collect", "apply-once"],
}  # fmt: skip
NO_DEFINITIONS = {column: [] for column in DEFINITION_COLUMNS.values()}
NO_BROWSER = {"browser_family": None, "browser_major_version": None, "screen_width": None}


def cluster_label(count: int) -> str:
    """genClusterCountInfo of VelaUX's system_info_collect.go."""
    for bound in (3, 10, 50, 100, 150, 200, 300, 500):
        if count < bound:
            return f"<{bound}"
    return ">=500"


def app_label(count: int) -> str:
    """genCountInfo of VelaUX's system_info_collect.go."""
    for bound in (10, 50, 100, 500, 2000, 5000, 10000):
        if count < bound:
            return f"<{bound}"
    return ">=10000"


def encode(document) -> bytes:
    """As axios sends it: JSON.stringify, no spaces, UTF-8."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def stretched(seed: str, length: int) -> str:
    """A Kubernetes-like name of exactly ``length`` characters: labels joined by dots, hyphens.

    Built from a short drawn seed, so that hundreds of long names cost hypothesis little.
    """
    chars = []
    for index in range(length):
        inner = 0 < index < length - 1
        if inner and index % 50 == 49:
            chars.append(".")
        elif inner and index % 10 == 4:
            chars.append("-")
        else:
            chars.append(seed[index % len(seed)])
    return "".join(chars)


seeds = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=6)
# A revision (webservice@v1) names a DefinitionRevision "<name>-v<n>", itself a Kubernetes
# name: so "<name>@v<n>" is at most 253 characters too.
revisions = st.sampled_from(["", "", "", "@v1", "@v2", "@v12"])


@st.composite
def kube_names(draw, known: list[str]) -> str:
    revision = draw(revisions)
    kind = draw(st.sampled_from(["known", "known", "short", "long"]))
    if kind == "known":
        return draw(st.sampled_from(known)) + revision
    top = KUBERNETES_NAME - len(revision)
    length = draw(st.integers(1, 20) if kind == "short" else st.integers(21, top))
    return stretched(draw(seeds), length) + revision


@st.composite
def addon_maps(draw) -> dict[str, str]:
    """A few drawn addons, then up to a few hundred more generated from one drawn shape."""
    addons = draw(
        st.dictionaries(kube_names(KNOWN_ADDONS), st.sampled_from(ADDON_STATUSES), max_size=20)
    )
    bulk = draw(st.sampled_from([0, 0, 1, 60, 90]) | st.integers(0, 400))
    if bulk:
        seed, shift, revision = draw(seeds), draw(st.integers(0, 2)), draw(revisions)
        length = draw(st.integers(1, KUBERNETES_NAME - len(f"-{bulk}{revision}")))
        for index in range(bulk):
            name = f"{stretched(seed, length)}-{index}{revision}"
            addons[name] = ADDON_STATUSES[(index + shift) % 3]
    return addons


@st.composite
def install_times(draw) -> tuple[str, date | None]:
    """(installTime as sent, the UTC date the documentation says is stored)."""
    kind = draw(st.sampled_from(["rfc3339"] * 6 + ["go-zero", "empty"]))
    if kind == "go-zero":
        return "0001-01-01T00:00:00Z", None
    if kind == "empty":
        return "", None
    local = draw(st.datetimes(datetime(1970, 1, 1), datetime(2100, 12, 31))).replace(microsecond=0)
    offset = draw(st.integers(-12 * 4, 14 * 4)) * 15  # minutes, -12:00 to +14:00
    digits = draw(st.integers(0, 9))
    nanoseconds = draw(st.integers(0, 10**9 - 1))
    fraction = f".{nanoseconds:09d}"[: digits + 1] if digits else ""
    if offset == 0 and draw(st.booleans()):
        zone = "Z"
    else:
        sign, magnitude = ("-" if offset < 0 else "+"), abs(offset)
        zone = f"{sign}{magnitude // 60:02d}:{magnitude % 60:02d}"
    text = local.strftime("%Y-%m-%dT%H:%M:%S") + fraction + zone
    return text, (local - timedelta(minutes=offset)).date()


releases = st.sampled_from([*DEVELOPMENT_RELEASES, ""]) | st.builds(
    "v1.{}.{}{}".format,
    st.integers(3, 10),
    st.integers(0, 20),
    st.sampled_from(["", "", "-alpha.1", "-beta.2", "-rc.1"]),
)
git_versions = st.sampled_from(["", "UNKNOWN"]) | st.from_regex(r"git-[0-9a-f]{7}", fullmatch=True)


@st.composite
def versions(draw) -> tuple[str, str | None, str | None]:
    """(version as sent, release, git commit): VelaUX's ``a + +'/' + b`` is ``a + "NaN" + b``."""
    release, git = draw(releases), draw(git_versions)
    separator = draw(st.sampled_from(["NaN", "NaN", "/"]))  # "/": a fixed client
    return f"{release}{separator}{git}", release or None, git or None


@st.composite
def browsers(draw) -> tuple[str, str, int | None]:
    """(nameAndVersion, family, major) as getBrowserNameAndVersion builds them.

    Every further match of its /g regular expression follows after a comma; only the
    first "/" is removed (chrome, firefox), only the first "msie" becomes "ie".
    """
    family = draw(st.sampled_from(["chrome", "firefox", "ie", "safari"]))
    if family == "chrome":
        major = draw(st.integers(1, 999))
        version = f"{major}.0.{draw(st.integers(0, 9999))}.{draw(st.integers(0, 999))}"
        first, more = f"chrome{version}", f"chrome/{version}"
    elif family == "firefox":
        major = draw(st.integers(1, 999))
        version = f"{major}.{draw(st.integers(0, 9))}"
        first, more = f"firefox{version}", f"firefox/{version}"
    elif family == "ie":
        major = draw(st.integers(5, 10))
        first, more = f"ie{major}.{draw(st.sampled_from('05'))}", "msie6.0"
    else:  # Safari, and every browser on iOS: the WebKit build, not a version
        major = None
        build = draw(st.sampled_from(["605.1.15", "604.1", "601.1.46", "537.36"]))
        first, more = f"safari/{build}", "safari/604.1"
    tokens = [first] + [more] * draw(st.sampled_from([0, 0, 0, 1, 2]))
    return ",".join(tokens), family, major


languages = st.sampled_from(["en-US", "zh-CN", "de-DE", "en-GB", "ja", "pt-BR", "zh-Hant-TW"])
pixels = st.integers(1, 16384)
platform_ids = st.text(RAND_ALPHABET, min_size=16, max_size=16)


def fitted(document: dict, addons_key: str) -> bytes:
    """The body under MAX_BODY_BYTES, dropping the last addons until it fits."""
    body = encode(document)
    addons = document.get(addons_key, {})
    while len(body) > MAX_BODY_BYTES:
        excess, dropped = len(body) - MAX_BODY_BYTES, 0
        while dropped < excess and addons:
            last = addons.pop() if isinstance(addons, list) else dict([addons.popitem()])
            dropped += len(encode(last)) - 1
        body = encode(document)
    return body


@st.composite
def todays_payloads(draw) -> tuple[bytes, dict, list[str]]:
    """(body, the stored row it must give, the discarded field names) of VelaUX >= v1.3.2."""
    platform_id = draw(platform_ids)
    install_time, install_date = draw(install_times())
    version, release, git_commit = draw(versions())
    cluster = draw(st.sampled_from(CLUSTER_VALUES))
    app = draw(st.sampled_from(["", *APP_LABELS]))
    addons = draw(addon_maps())
    definitions = {
        key: draw(st.lists(kube_names(known), max_size=5, unique=True))
        for key, known in KNOWN_DEFINITIONS.items()
    }
    name_and_version, family, major = draw(browsers())
    width = draw(pixels)
    document = {
        "platformID": platform_id,
        "installTime": install_time,
        "version": version,
        "clusterCount": cluster,
        "appCount": app,
        "enableAddonList": addons,
        **{key: names for key, names in definitions.items() if names},  # missing when empty
        "browserInfo": {
            "language": draw(languages),
            "nameAndVersion": name_and_version,
            "screenWidth": width,
            "screenHeight": draw(pixels),
        },
    }
    body = fitted(document, "enableAddonList")
    row = {
        "platform_id": platform_id,
        "release": release,
        "git_commit": git_commit,
        "install_date": install_date,
        "cluster_count_bucket": cluster or None,
        "app_count_bucket": app or None,
        "addons": dict(addons),
        **{DEFINITION_COLUMNS[key]: names for key, names in definitions.items()},
        "browser_family": family,
        "browser_major_version": major,
        "screen_width": width,
    }
    return body, row, DISCARDED


def label_if_sent(document: dict, key: str, label) -> str | None:
    return label(document[key]) if key in document else None


counts = st.sampled_from([0, 2, 3, 9, 10, 49, 50, 499, 500, 9999, 10000]) | st.integers(0, 100_000)


legacy_versions = st.builds("v1.{}.{}".format, st.integers(1, 2), st.integers(0, 9)) | st.just(
    "v1.3.0-alpha.1"
)


@st.composite
def legacy_payloads(draw) -> tuple[bytes, dict, list[str], tuple[int, ...]]:
    """(body, stored row, discarded names, raw counts) of VelaUX v1.1-v1.2 (v1.3.0-alpha.1).

    Its TopBar sets version only when the system info has one, and appCount, clusterCount
    and enableAddList only when the request behind each succeeded: any may be missing.
    """
    install_id = draw(platform_ids)
    install_time, install_date = draw(install_times())
    document = {"installID": install_id, "installTime": install_time}
    addon_items = st.lists(
        st.tuples(kube_names(KNOWN_ADDONS), st.sampled_from(LEGACY_PHASES)),
        max_size=60,
        unique_by=lambda item: item[0],
    )
    optional = {
        "version": legacy_versions,
        "appCount": counts,
        "clusterCount": counts,
        "enableAddList": addon_items.map(
            lambda items: [{"name": name, "phase": phase} for name, phase in items]
        ),
    }
    document.update(draw(st.fixed_dictionaries({}, optional=optional)))
    body = fitted(document, "enableAddList")
    row = {
        "platform_id": install_id,
        "release": document.get("version"),
        "git_commit": None,
        "install_date": install_date,
        "cluster_count_bucket": label_if_sent(document, "clusterCount", cluster_label),
        "app_count_bucket": label_if_sent(document, "appCount", app_label),
        "addons": {
            item["name"]: item["phase"]
            for item in document.get("enableAddList", [])
            if item["phase"] in ADDON_STATUSES
        },
        **NO_DEFINITIONS,
        **NO_BROWSER,
    }
    raw_counts = tuple(document[key] for key in ("clusterCount", "appCount") if key in document)
    return body, row, [], raw_counts


# --- (1) the properties ---------------------------------------------------------------------

GRAMMAR = hypothesis_settings(
    derandomize=True,  # CI runs the same cases every time
    database=None,
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow],
)
DAILY_LIMIT = 2
sends = st.sampled_from([1, 1, 1, 2, 3])  # the third send is past the daily limit


def assert_accepted_and_stored(body: bytes, expected: dict, discarded: list[str], times: int):
    Report.objects.all().delete()  # the examples share the test's database
    policy = policy_get_published()
    client = Client()
    with override_settings(INGEST_MAX_REPORTS_PER_INSTALLATION_PER_DAY=DAILY_LIMIT):
        for attempt in range(1, times + 1):
            response = client.post("/collecting", body, content_type="application/json")
            answer = response.json()
            if attempt <= DAILY_LIMIT:
                assert response.status_code == 202, answer
                assert answer["status"] == "accepted"
                assert answer["report"] == ("new" if attempt == 1 else "replaced")
                assert answer["discarded_fields"] == discarded
            else:
                assert response.status_code == 200, answer
                assert (answer["status"], answer["reason"]) == ("not_stored", "daily_limit_reached")
            assert answer["policy_version"] == policy.number
    (row,) = Report.objects.values()
    row.pop("id")
    assert row == {
        **expected,
        "report_date": date.fromisoformat(answer["report_date"]),
        "policy_version_id": policy.pk,
        "revision": min(times, DAILY_LIMIT),
    }
    return row


@pytest.mark.slow
@pytest.mark.django_db
@GRAMMAR
@given(case=todays_payloads(), times=sends)
def test_any_payload_of_todays_client_is_accepted_and_stored_as_documented(case, times):
    body, expected, discarded = case
    assert len(body) <= MAX_BODY_BYTES
    assert_accepted_and_stored(body, expected, discarded, times)


@pytest.mark.slow
@pytest.mark.django_db
@hypothesis_settings(GRAMMAR, max_examples=100)
@given(case=legacy_payloads(), times=sends)
def test_any_payload_of_the_v1_2_client_is_accepted_and_stored_as_documented(case, times):
    body, expected, discarded, raw_counts = case
    row = assert_accepted_and_stored(body, expected, discarded, times)
    assert row["cluster_count_bucket"] in {*CLUSTER_LABELS, None}
    assert row["app_count_bucket"] in {*APP_LABELS, None}
    # no raw count anywhere: the only numbers in the row are its own bookkeeping
    reported = {k: v for k, v in row.items() if k not in ("policy_version_id", "revision")}
    assert not [v for v in reported.values() if isinstance(v, int)]
    assert not {str(count) for count in raw_counts} & {str(v) for v in reported.values()}


# --- (2) one test per quirk not covered elsewhere (see the module docstring) ----------------


def typical() -> dict:
    return json.loads((LOCAL_FIXTURES / "typical-chrome.json").read_text())


def stored_row() -> dict:
    (row,) = Report.objects.values()
    for bookkeeping in ("id", "report_date", "policy_version_id", "revision"):
        row.pop(bookkeeping)
    return row


QUIRK_ROWS = {
    "many-addons.json": lambda payload: {
        "platform_id": "k7m2pq9xw4vbz8rd",
        "release": "v1.9.13",
        "git_commit": "git-7f3e2a1",
        "install_date": date(2024, 11, 2),
        "cluster_count_bucket": "<10",
        "app_count_bucket": "<100",
        "addons": payload["enableAddonList"],
        **NO_DEFINITIONS,
        "component_definitions": ["webservice@v1", "k8s-objects", "helm"],
        "trait_definitions": ["scaler"],
        "browser_family": "chrome",
        "browser_major_version": 131,
        "screen_width": 2560,
    },
    "zero-install-time.json": lambda payload: {
        "platform_id": "x2c9vb7nm4kq8lzt",
        "release": "v1.8.2",
        "git_commit": "git-0c4b1e9",
        "install_date": None,
        "cluster_count_bucket": None,
        "app_count_bucket": None,
        "addons": {},
        **NO_DEFINITIONS,
        "browser_family": "firefox",
        "browser_major_version": 125,
        "screen_width": 1440,
    },
    "double-msie.json": lambda payload: {
        "platform_id": "p4d8wz2qn7xk5cbv",
        "release": "v1.6.7",
        "git_commit": "git-9a8b7c6",
        "install_date": date(2023, 1, 15),
        "cluster_count_bucket": "<3",
        "app_count_bucket": "<10",
        "addons": {"velaux": "enabled"},
        **NO_DEFINITIONS,
        "browser_family": "ie",
        "browser_major_version": 8,
        "screen_width": 1024,
    },
    "legacy-v1.2.json": lambda payload: {
        "platform_id": "r8t2bq5xk9wz4cmd",
        "release": "v1.2.4",
        "git_commit": None,
        "install_date": date(2022, 2, 24),
        "cluster_count_bucket": "<3",
        "app_count_bucket": "<10",
        "addons": {"fluxcd": "enabled", "velaux": "enabled"},
        **NO_DEFINITIONS,
        **NO_BROWSER,
    },
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(QUIRK_ROWS))
def test_each_quirk_fixture_is_answered_2xx_and_stored_as_documented(client, name):
    payload = quirk_fixture(name)
    response = post_report(client, payload)
    assert response.status_code == 202, response.content
    expected_discarded = [] if "installID" in payload else DISCARDED
    assert response.json()["discarded_fields"] == expected_discarded
    assert stored_row() == QUIRK_ROWS[name](payload)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("version", "release", "git_commit"),
    [
        ("latestNaNgit-1a2b3c4", "latest", "git-1a2b3c4"),
        ("mainNaN", "main", None),
        ("masterNaNgit-77ac01e", "master", "git-77ac01e"),
        ("undefinedNaN", "undefined", None),
        ("UNKNOWNNaNUNKNOWN", "UNKNOWN", "UNKNOWN"),  # kubevela's version package defaults
        ("latest/git-1a2b3c4", "latest", "git-1a2b3c4"),  # a fixed client
    ],
)
def test_development_build_versions_are_kept(client, version, release, git_commit):
    assert post_report(client, dict(typical(), version=version)).status_code == 202
    report = Report.objects.get()
    assert (report.release, report.git_commit) == (release, git_commit)


@pytest.mark.django_db
@pytest.mark.parametrize("label", sorted({*CLUSTER_LABELS, *OLD_CLUSTER_LABELS, *APP_LABELS}))
def test_every_documented_cluster_label_is_stored_as_sent(client, label):
    assert post_report(client, dict(typical(), clusterCount=label)).status_code == 202
    assert Report.objects.get().cluster_count_bucket == label


@pytest.mark.django_db
@pytest.mark.parametrize("label", APP_LABELS)
def test_every_documented_app_label_is_stored_as_sent(client, label):
    assert post_report(client, dict(typical(), appCount=label)).status_code == 202
    assert Report.objects.get().app_count_bucket == label


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("install_time", "utc_date"),
    [
        ("2023-12-31T23:30:00-12:00", "2024-01-01"),
        ("2024-01-01T00:30:00+14:00", "2023-12-31"),
        ("2023-06-01T03:00:00.1+05:45", "2023-05-31"),
        ("2023-06-01T20:00:00.123456-09:30", "2023-06-02"),
        ("2023-06-01T12:00:00.000000001Z", "2023-06-01"),
    ],
)
def test_install_time_offsets_at_the_ends_of_the_range(client, install_time, utc_date):
    assert post_report(client, dict(typical(), installTime=install_time)).status_code == 202
    assert Report.objects.get().install_date == date.fromisoformat(utc_date)


@pytest.mark.django_db
def test_addons_up_to_the_bound_with_every_status_are_stored(client):
    addons = {f"addon-{index}": ADDON_STATUSES[index % 3] for index in range(MAX_ADDONS)}
    body = encode(dict(typical(), enableAddonList=addons))
    assert len(body) <= MAX_BODY_BYTES
    response = post_report(client, body)
    assert response.status_code == 202, response.content
    assert Report.objects.get().addons == addons


@pytest.mark.django_db
def test_all_four_definition_lists_missing_store_empty_lists(client):
    payload = typical()
    for key in DEFINITION_COLUMNS:
        payload.pop(key)
    response = post_report(client, payload)
    assert response.status_code == 202
    assert response.json()["discarded_fields"] == DISCARDED  # a missing key is no drift
    report = Report.objects.values(*DEFINITION_COLUMNS.values()).get()
    assert report == NO_DEFINITIONS


@pytest.mark.django_db
def test_the_four_definition_lists_are_stored_in_order_with_revisions(client):
    lists = {
        "componentDefinitionTopList": ["worker", "webservice@v1", "k8s-objects", "helm", "task"],
        "traitDefinitionTopList": ["scaler@v2", "gateway"],
        "workflowStepDefinitionTopList": ["step-group", "deploy", "suspend"],
        "policyDefinitionTopList": ["override", "topology@v12"],
    }
    assert post_report(client, dict(typical(), **lists)).status_code == 202
    report = Report.objects.values(*DEFINITION_COLUMNS.values()).get()
    assert report == {DEFINITION_COLUMNS[key]: names for key, names in lists.items()}


@pytest.mark.django_db
def test_names_as_long_as_kubernetes_allows_are_stored(client):
    longest = stretched("kubevela0", KUBERNETES_NAME)
    with_revision = stretched("definition", KUBERNETES_NAME - 3) + "@v1"
    assert len(longest) == len(with_revision) == KUBERNETES_NAME
    payload = dict(
        typical(),
        enableAddonList={longest: "enabled", with_revision: "disabling"},
        componentDefinitionTopList=[longest, with_revision],
        policyDefinitionTopList=[with_revision],
    )
    assert post_report(client, payload).status_code == 202
    report = Report.objects.get()
    assert report.addons == {longest: "enabled", with_revision: "disabling"}
    assert report.component_definitions == [longest, with_revision]
    assert report.policy_definitions == [with_revision]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name_and_version", "family", "major"),
    [
        ("safari/604.1", "safari", None),  # Chrome and Firefox on iOS
        ("ie10.0", "ie", 10),
        ("ie5.5", "ie", 5),
        ("ie8.0,msie7.0,msie6.0", "ie", 8),  # three MSIE tokens
        ("chrome124.0.6367.91,chrome/124.0.6367.91", "chrome", 124),  # only the first "/" goes
        ("firefox125.0,firefox/125.0", "firefox", 125),
        ("safari/605.1.15,safari/604.1", "safari", None),
    ],
)
def test_more_browser_strings_the_client_can_build(client, name_and_version, family, major):
    payload = typical()
    payload["browserInfo"]["nameAndVersion"] = name_and_version
    assert post_report(client, payload).status_code == 202
    report = Report.objects.get()
    assert (report.browser_family, report.browser_major_version) == (family, major)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "origin", ["http://localhost:8000", "https://velaux.corp.example", "http://10.0.0.7:30000"]
)
def test_any_origin_gets_cors_headers_without_credentials(client, origin):
    preflight = client.options(
        "/collecting",
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    response = post_report(client, typical(), HTTP_ORIGIN=origin)
    assert 200 <= preflight.status_code < 300
    assert response.status_code == 202
    for answer in (preflight, response):
        assert answer["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in answer


@pytest.mark.django_db
def test_a_cross_site_post_without_cookies_or_csrf_token_is_accepted():
    browser = Client(enforce_csrf_checks=True)
    response = post_report(browser, typical(), HTTP_ORIGIN="https://velaux.corp.example")
    assert response.status_code == 202, response.content
    assert not response.cookies


@pytest.mark.django_db
def test_a_v1_2_client_without_a_running_addon_is_accepted(client):
    """v1.2's TopBar sends ``enableAddList: re.enabledAddons``; kubevela v1.2's
    ListEnabledAddon builds ``var response []*apis.AddonBaseStatus`` and appends only the
    running addons, and ListEnabledAddonResponse tags it ``json:"enabledAddons"``: so an
    installation with no running addon application gets ``null``, and sends it."""
    payload = dict(quirk_fixture("legacy-v1.2.json"), enableAddList=None)
    response = post_report(client, payload)
    assert response.status_code == 202, response.content
    assert Report.objects.get().addons == {}


@pytest.mark.django_db
@override_settings(ALLOWED_HOSTS=["telemetry.kubevela.net", "user.kubevela.net"])  # production
def test_the_legacy_client_is_received_on_its_own_host(client):
    legacy = post_report(client, quirk_fixture("legacy-v1.2.json"), HTTP_HOST="user.kubevela.net")
    today = post_report(client, typical(), HTTP_HOST="telemetry.kubevela.net")
    assert (legacy.status_code, today.status_code) == (202, 202)
    assert Report.objects.count() == 2
