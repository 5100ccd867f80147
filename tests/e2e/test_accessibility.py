"""Every public and member page, in each language and colour scheme, in a real browser.

On every page, at 1280 x 800 and at 390 x 844: no axe-core WCAG 2 A/AA violation, the
``<html lang>`` of the language asked for, a dark ground in the dark scheme (a light one
in the light scheme), and, at 390 px, nothing that scrolls sideways
(``document.scrollingElement.scrollWidth <= 390``).

One test per language and scheme walks the public pages, another the member pages; each
member signs in once and one browser page visits all of theirs. Every problem found is
collected, and the test fails with the whole list. To cover a page, add it to
``public_pages`` or to its persona's list in ``member_pages``; a language, to LANGUAGES.
A handful of pages (SHOWN) are also saved as screenshots at 390 px,
``a11y-<page>-<language>-<scheme>-390.png``, to look at.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import axe_violations, screenshot
from tests.personas import PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LANGUAGES = ["en", "zh-hans"]
HTML_LANG = {"en": "en", "zh-hans": "zh-Hans"}
SCHEMES = ["light", "dark"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
CHINESE = re.compile(r"[\u4e00-\u9fff]")
# Swagger UI draws its page with scripts: wait for it before checking.
READY = {"/api/docs/": ".swagger-ui .info .title"}
# Pages shown as screenshots, by their label, in each language and scheme at 390 px.
SHOWN = {
    "home",
    "stats",
    "dictionary",
    "access-overview",
    "request-approved",
    "request-info-requested",
    "request-form-errors",
    "token-created",
    "mfa-totp-activate",
    "not-found",
}
SHOWN_AT_DESKTOP = {"home", "stats", "request-approved"}


@dataclass
class Visit:
    """A page to check: where it is, the answer expected, and what to do to reach it."""

    label: str
    path: str
    status: int = 200
    # Runs on the page after it is opened (a form submitted, say) and before the checks.
    then: Callable | None = None
    # The <html lang> of a page that has one language only, whatever is asked for.
    lang: str | None = None
    # Selectors the page must match: it is the page in the state meant (a form's errors).
    shows: tuple[str, ...] = ()


@dataclass
class Walk:
    """One browser page in one language and scheme, and the problems found on it."""

    page: Any  # playwright's Page
    url: str
    language: str
    scheme: str
    problems: list[str] = field(default_factory=list)

    def check(self, visit: Visit) -> None:
        page = self.page
        page.set_viewport_size(DESKTOP)
        response = page.goto(f"{self.url}{visit.path}")
        if visit.then is not None:
            response = visit.then(page) or response
        where = f"{visit.label} ({visit.path}, {self.language}, {self.scheme})"
        landed = urlsplit(page.url)
        if visit.then is None and f"{landed.path}?{landed.query}".rstrip("?") != visit.path:
            self.problems.append(f"{where}: sent on to {page.url}")
        for selector in visit.shows:
            if not page.locator(selector).count():
                self.problems.append(f"{where}: nothing matches {selector!r}")
        if response is not None and response.status != visit.status:
            self.problems.append(f"{where}: answered {response.status}, not {visit.status}")
        if visit.path in READY:
            page.locator(READY[visit.path]).wait_for(timeout=15_000)
        lang = page.locator("html").get_attribute("lang")
        if lang != (visit.lang or HTML_LANG[self.language]):
            self.problems.append(f"{where}: <html lang={lang!r}>")
        background = page.evaluate(
            "getComputedStyle(document.body).backgroundColor === 'rgba(0, 0, 0, 0)'"
            " ? getComputedStyle(document.documentElement).backgroundColor"
            " : getComputedStyle(document.body).backgroundColor"
        )
        light = _luminance(background) > 0.8
        dark = _luminance(background) < 0.05
        if (self.scheme == "dark" and not dark) or (self.scheme == "light" and not light):
            self.problems.append(f"{where}: background {background}")
        if visit.label in SHOWN_AT_DESKTOP:
            screenshot(page, f"a11y-{visit.label}-{self.language}-{self.scheme}-1280")
        for viewport in (DESKTOP, PHONE):
            page.set_viewport_size(viewport)
            size = f"{viewport['width']} px"
            report = axe_violations(page)
            if report:
                self.problems.append(f"{where} at {size}:\n{report}")
        width = page.evaluate("document.scrollingElement.scrollWidth")
        if width > PHONE["width"]:
            self.problems.append(f"{where}: {width} px wide at {PHONE['width']} px")
            screenshot(page, f"overflow-{visit.label}-{self.language}-{self.scheme}")
        if visit.label in SHOWN:
            screenshot(page, f"a11y-{visit.label}-{self.language}-{self.scheme}-390")

    def check_all(self, visits: list[Visit]) -> None:
        for visit in visits:
            self.check(visit)


def _luminance(css_colour: str) -> float:
    """Relative luminance (WCAG) of a computed rgb()/rgba() colour."""
    channels = [float(part) for part in css_colour[css_colour.index("(") + 1 : -1].split(",")[:3]]

    def linear(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(channel) for channel in channels)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def _context(browser, url: str, *, scheme: str, language: str):
    """A browser context in the scheme, asking for the language by cookie and by locale."""
    context = browser.new_context(
        viewport=DESKTOP, color_scheme=scheme, locale="zh-CN" if language != "en" else "en-US"
    )
    context.add_cookies([{"name": "django_language", "value": language, "url": url}])
    return context


def _sign_in(page, url: str, email: str) -> None:
    """The sign-in form, filled by its fields' names: it reads the same in every language."""
    page.goto(f"{url}/accounts/login/")
    form = page.locator("main form[method=post]").filter(has=page.locator("input[name=login]"))
    form.locator("input[name=login]").fill(email)
    form.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def _reauthenticate(page, url: str) -> None:
    page.goto(f"{url}/accounts/reauthenticate/")
    form = page.locator("main form[method=post]").filter(has=page.locator("input[name=password]"))
    form.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def _assert_none(walk: Walk) -> None:
    problems = "\n\n".join(walk.problems)
    assert not walk.problems, f"{len(walk.problems)} problems:\n\n{problems}"


# --- the public pages -----------------------------------------------------------------


def _stats_range() -> str:
    from django.utils import timezone

    today = timezone.now().date()
    return f"/stats/?range=custom&from={today - timedelta(days=20)}&to={today - timedelta(days=3)}"


def public_pages() -> list[Visit]:
    return [
        Visit("home", "/"),
        Visit("policy", "/policy/"),
        Visit("dictionary", "/dictionary/"),
        Visit("stats", "/stats/"),
        Visit("stats-custom-range", _stats_range()),
        Visit("stats-range-error", "/stats/?from=2026-13-45", status=400, shows=(".error",)),
        Visit("access-signed-out", "/access/"),
        Visit("register", "/access/register/"),
        # Swagger UI and the API's descriptions are in English only, and say so.
        Visit("api-docs", "/api/docs/", lang="en"),
        Visit("login", "/accounts/login/"),
        Visit("signup", "/accounts/signup/"),
        Visit("signup-errors", "/accounts/signup/", then=_submit_empty, shows=(".errorlist",)),
        Visit("password-reset", "/accounts/password/reset/"),
        Visit("password-reset-done", "/accounts/password/reset/done/"),
        Visit("not-found", "/no-such-page/", status=404),
    ]


@pytest.fixture
def small_fleet(transactional_db):
    """Enough released days for /stats/ to draw every kind of chart."""
    from django.core.management import call_command
    from django.utils import timezone

    call_command("generate_telemetry", installations=150, days=32, seed=11, verbosity=0)
    today = timezone.now().date()
    call_command("rollup", f"--from={today - timedelta(days=35)}", f"--to={today}", verbosity=0)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_public_page_passes_in_each_language_and_scheme(
    browser, live_server, small_fleet, language, scheme
):
    context = _context(browser, live_server.url, scheme=scheme, language=language)
    walk = Walk(context.new_page(), live_server.url, language, scheme)
    try:
        walk.check_all(public_pages())
        walk.page.goto(f"{live_server.url}/")
        heading = walk.page.locator("h1").inner_text()
        if language == "en":
            assert not CHINESE.search(heading), heading
        else:
            assert CHINESE.search(heading), f"/ in {language}: h1 {heading!r}"
    finally:
        context.close()
    _assert_none(walk)


def test_a_chinese_browser_without_the_cookie_reads_the_home_page_in_chinese(browser, live_server):
    """Accept-Language: zh-CN alone (no cookie) is enough."""
    context = browser.new_context(viewport=PHONE, locale="zh-CN", color_scheme="dark")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/")
        assert page.locator("html").get_attribute("lang") == "zh-Hans"
        assert CHINESE.search(page.locator("h1").inner_text())
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert _luminance(background) < 0.05, background
    finally:
        context.close()


# --- the member pages -----------------------------------------------------------------


def _submit_empty(page):
    """Submits the page's main form with nothing filled in: the page with its errors,
    as the server gives them (the browser's own checks of required fields are skipped)."""
    form = page.locator("main form[method=post]").last
    form.evaluate("form => { form.noValidate = true; }")
    with page.expect_navigation() as navigation:
        form.locator("button[type=submit]").last.click()
    return navigation.value


def _mint_token(grant_pk: int):
    def mint(page):
        form = page.locator(f"form[action='/access/grants/{grant_pk}/tokens/']")
        form.locator("input[name=name]").fill("analysis notebook")
        with page.expect_navigation() as navigation:
            form.locator("button[type=submit]").click()
        return navigation.value

    return mint


@pytest.fixture
def members(transactional_db, celery_eager, export_media):
    """The member's world: each persona's requests, grants, tokens, exports and reads.

    alice: a request waiting, one with a question for her, one withdrawn, one rejected;
    gina: an active grant with a token, reads made with it, a ready export and a queued one;
    eddie: a grant that ended yesterday; rita: an active grant whose token is revoked and
    a revoked grant; bob: an authenticator app (signing in asks for its code)."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.utils import timezone

    from access_requests import services
    from access_requests.models import Grant
    from ingest.models import Report
    from tests.access_requests.factories import file_request
    from tests.access_requests.helpers import PERIOD, grant_for
    from tests.ingest.factories import report_row
    from tests.personas import persona_create

    maria = persona_create("maria")
    refs = {}

    alice = persona_create("alice")
    services.profile_update(user=alice, display_name="Alice", affiliation="Example University")
    refs["pending"] = file_request(alice, purpose="Release adoption by month").pk
    asked = file_request(alice, purpose="Addon co-usage study", elements=["enableAddonList"])
    services.access_request_ask_info(
        request=asked, reviewer=maria, message="Which addons, and for which releases?"
    )
    refs["info"] = asked.pk
    withdrawn = file_request(alice, purpose="A study no longer needed")
    services.access_request_withdraw(request=withdrawn, applicant=alice)
    refs["withdrawn"] = withdrawn.pk
    rejected = file_request(alice, purpose="Every installation's addons, for ever")
    services.access_request_reject(
        request=rejected, reviewer=maria, reason="Ask for the period the study needs."
    )
    refs["rejected"] = rejected.pk

    Report.objects.bulk_create(
        report_row(f"a11y-install-{n}", PERIOD[0] + timedelta(days=day))
        for day in range(5)
        for n in range(3)
    )
    gina = persona_create("gina")
    grant = grant_for(gina, maria)
    token, _ = services.token_mint(grant=grant, user=gina, name="weekly job")
    services.data_read_record(
        token=token, endpoint="/api/v1/data/reports", parameters={"from": "2026-02-01"}, rows=15
    )
    ready = services.export_request(
        grant=grant, user=gina, file_format="jsonl", first=PERIOD[0], last=PERIOD[1]
    )
    services.export_build(export_id=ready.pk)
    services.export_request(grant=grant, user=gina, file_format="csv")
    refs["gina.request"], refs["gina.grant"] = grant.request_id, grant.pk

    eddie = persona_create("eddie")
    ended = grant_for(eddie, maria)
    Grant.objects.filter(pk=ended.pk).update(expires_at=timezone.now() - timedelta(days=1))
    refs["eddie.request"], refs["eddie.grant"] = ended.request_id, ended.pk

    rita = persona_create("rita")
    active = grant_for(rita, maria)
    token, _ = services.token_mint(grant=active, user=rita, name="old notebook")
    services.token_revoke(token=token, user=rita)
    revoked = grant_for(rita, maria)
    services.grant_revoke(grant=revoked, actor=maria, reason="The study ended early.")
    refs["rita.request"], refs["rita.revoked"] = active.request_id, revoked.request_id

    bob = persona_create("bob")
    TOTP.activate(bob, generate_totp_secret())
    return refs


def member_pages(refs: dict) -> dict[str, list[Visit]]:
    """Each persona's pages, in the order one browser visits them."""
    return {
        "alice": [
            Visit("access-overview", "/access/"),
            Visit("access-open", "/access/?state=open"),
            Visit("access-closed", "/access/?state=closed"),
            Visit("request-pending", f"/access/requests/{refs['pending']}/"),
            Visit(
                "request-info-requested",
                f"/access/requests/{refs['info']}/",
                shows=("form#answer",),
            ),
            Visit("request-withdrawn", f"/access/requests/{refs['withdrawn']}/"),
            Visit("request-rejected", f"/access/requests/{refs['rejected']}/"),
            Visit("request-form", "/access/request/"),
            Visit(
                "request-form-errors", "/access/request/", then=_submit_empty, shows=(".errorlist",)
            ),
            Visit("request-edit", f"/access/requests/{refs['pending']}/edit/"),
            Visit("request-withdraw", f"/access/requests/{refs['pending']}/withdraw/"),
            Visit("profile", "/accounts/profile/"),
            Visit("email", "/accounts/email/"),
            Visit("password-change", "/accounts/password/change/"),
            Visit(
                "password-change-errors",
                "/accounts/password/change/",
                then=_submit_empty,
                shows=(".errorlist",),
            ),
            Visit("connections", "/accounts/3rdparty/"),
            Visit("mfa", "/accounts/2fa/"),
            Visit("reauthenticate", "/accounts/reauthenticate/"),
            Visit("logout", "/accounts/logout/"),
        ],
        "gina": [
            Visit("access-grantee", "/access/"),
            Visit(
                "request-approved",
                f"/access/requests/{refs['gina.request']}/",
                # its tokens, its exports with their datasheets, and the reads made
                shows=(
                    f"#tokens-{refs['gina.grant']}-caption",
                    "table.export-history a[href*=datasheet]",
                    "#reads-caption",
                ),
            ),
            Visit(
                "token-created",
                f"/access/requests/{refs['gina.request']}/",
                then=_mint_token(refs["gina.grant"]),
                shows=("input.secret",),
            ),
        ],
        "eddie": [
            Visit("request-ended", f"/access/requests/{refs['eddie.request']}/"),
            Visit("grant-renew", f"/access/grants/{refs['eddie.grant']}/renew/"),
        ],
        "rita": [
            Visit("request-token-revoked", f"/access/requests/{refs['rita.request']}/"),
            Visit("request-revoked", f"/access/requests/{refs['rita.revoked']}/"),
        ],
    }


def mfa_pages_after_reauthenticating() -> tuple[list[Visit], list[Visit]]:
    """alice's, once she has confirmed her password again (allauth asks each time): before
    she has an authenticator app, and once she has one and recovery codes."""
    return [Visit("mfa-totp-activate", "/accounts/2fa/totp/activate/")], [
        Visit("mfa-active", "/accounts/2fa/"),
        Visit("mfa-totp-deactivate", "/accounts/2fa/totp/deactivate/"),
        Visit("mfa-recovery-codes", "/accounts/2fa/recovery-codes/"),
        Visit("mfa-recovery-codes-generate", "/accounts/2fa/recovery-codes/generate/"),
    ]


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_member_page_passes_in_each_language_and_scheme(
    browser, live_server, members, language, scheme
):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.contrib.auth import get_user_model

    url = live_server.url
    walks = []
    for username, visits in [*member_pages(members).items(), ("bob", [])]:
        context = _context(browser, url, scheme=scheme, language=language)
        walk = Walk(context.new_page(), url, language, scheme)
        walks.append(walk)
        try:
            _sign_in(walk.page, url, f"{username}@example.org")
            if username == "bob":  # his authenticator app: the sign-in asks for its code
                walk.check(Visit("mfa-authenticate", "/accounts/2fa/authenticate/"))
                continue
            walk.check_all(visits)
            if username == "alice":
                # /accounts/logout/ asked, and did not sign her out: she is still in
                _reauthenticate(walk.page, url)
                without, with_authenticator = mfa_pages_after_reauthenticating()
                walk.check_all(without)
                alice = get_user_model().objects.get(username="alice")
                TOTP.activate(alice, generate_totp_secret())
                RecoveryCodes.activate(alice)
                walk.check_all(with_authenticator)
        finally:
            context.close()
    problems = [problem for walk in walks for problem in walk.problems]
    assert not problems, f"{len(problems)} problems:\n\n" + "\n\n".join(problems)


# --- the statistics page's charts on a phone ---------------------------------------------


def test_chart_text_is_readable_on_a_phone(browser, live_server, small_fleet):
    """Every text of every chart shown at 390 px renders at 11 CSS px or more."""
    context = _context(browser, live_server.url, scheme="light", language="en")
    page = context.new_page()
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/stats/")
    try:
        sizes = page.evaluate(
            """() => [...document.querySelectorAll('svg.chart text')]
                .filter(text => text.getClientRects().length > 0)
                .map(text => text.getBoundingClientRect().height)"""
        )
        heights = page.evaluate(
            """() => [...document.querySelectorAll('svg.chart')]
                .filter(svg => svg.getClientRects().length > 0)
                .map(svg => {
                    const box = svg.viewBox.baseVal;
                    const drawn = svg.getBoundingClientRect().width;
                    const scale = box && box.width ? drawn / box.width : 1;
                    return parseFloat(getComputedStyle(svg).fontSize) * scale;
                })"""
        )
        assert len(sizes) > 50 and len(heights) >= 10  # bar charts and the narrow line chart
        assert min(heights) >= 11, f"rendered chart font sizes: {sorted(heights)[:5]}"
        assert min(sizes) >= 11, f"rendered chart text heights: {sorted(sizes)[:5]}"
    finally:
        context.close()


def test_screenshots_of_the_home_and_statistics_pages(browser, live_server, small_fleet):
    """visitors-<page>-<width>-<scheme>.png in artifacts/screenshots/, to look at."""
    for scheme in SCHEMES:
        for width, viewport in (("1280", DESKTOP), ("390", PHONE)):
            context = _context(browser, live_server.url, scheme=scheme, language="en")
            page = context.new_page()
            page.set_viewport_size(viewport)
            try:
                for path, slug in (("/", "home"), ("/stats/", "stats")):
                    response = page.goto(f"{live_server.url}{path}")
                    assert response.status == 200
                    assert page.locator("h1").count() == 1
                    screenshot(page, f"visitors-{slug}-{width}-{scheme}")
            finally:
                context.close()
