"""Every public page, in each language and colour scheme, in a real browser: no axe-core
WCAG 2 A/AA violation, a dark ground in the dark scheme, and nothing scrolls sideways on
a 390 px phone.

To cover a page, add its path to PUBLIC_PATHS (member pages will come with a persona to
sign in as); to cover a language, add it to LANGUAGES.
"""

import pytest

from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PUBLIC_PATHS = [
    "/",
    "/policy/",
    "/stats/",
    "/access/",
    "/access/register/",
    "/accounts/login/",
    "/accounts/signup/",
    "/api/docs/",
]
LANGUAGES = ["en"]
SCHEMES = ["light", "dark"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa"]}}
# Swagger UI draws its page with scripts: wait for it before checking.
READY = {"/api/docs/": ".swagger-ui .info .title"}
# Pages whose content comes from released statistics: they get a fleet first.
NEEDS_FIGURES = {"/stats/"}


@pytest.fixture
def figures_for(request):
    """Loads the fleet for a path that needs figures, and only then (it takes seconds)."""

    def load(path: str) -> None:
        if path in NEEDS_FIGURES:
            request.getfixturevalue("small_fleet")

    return load


@pytest.fixture
def small_fleet(transactional_db):
    """Enough released days for /stats/ to draw every kind of chart."""
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    call_command("generate_telemetry", installations=150, days=32, seed=11, verbosity=0)
    today = timezone.now().date()
    call_command("rollup", f"--from={today - timedelta(days=35)}", f"--to={today}", verbosity=0)


def _open(browser, url: str, *, scheme: str, language: str, viewport: dict):
    context = browser.new_context(viewport=viewport, color_scheme=scheme, locale=language)
    page = context.new_page()
    response = page.goto(url)
    return context, page, response


def _wait_until_drawn(page, path: str) -> None:
    if path in READY:
        page.locator(READY[path]).wait_for(timeout=15_000)


def _slug(path: str) -> str:
    return path.strip("/").replace("/", "-") or "home"


def _luminance(css_colour: str) -> float:
    """Relative luminance (WCAG) of a computed rgb()/rgba() colour."""
    channels = [float(part) for part in css_colour[css_colour.index("(") + 1 : -1].split(",")[:3]]

    def linear(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(channel) for channel in channels)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_every_public_page_passes_axe_in_each_scheme(
    browser, live_server, figures_for, path, scheme, language
):
    from axe_playwright_python.sync_playwright import Axe

    figures_for(path)
    context, page, response = _open(
        browser, f"{live_server.url}{path}", scheme=scheme, language=language, viewport=DESKTOP
    )
    try:
        assert response.status == 200
        _wait_until_drawn(page, path)
        screenshot(page, f"a11y-{_slug(path)}-{scheme}-{language}")
        results = Axe().run(page, options=WCAG_AA)
        assert results.violations_count == 0, f"{path} ({scheme}): {results.generate_report()}"
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        if scheme == "dark":
            assert _luminance(background) < 0.05, f"{path}: body background {background}"
        else:
            assert _luminance(background) > 0.8, f"{path}: body background {background}"
    finally:
        context.close()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_no_public_page_scrolls_sideways_on_a_phone(
    browser, live_server, figures_for, path, language
):
    figures_for(path)
    context, page, response = _open(
        browser, f"{live_server.url}{path}", scheme="light", language=language, viewport=PHONE
    )
    try:
        assert response.status == 200
        _wait_until_drawn(page, path)
        width = page.evaluate("document.scrollingElement.scrollWidth")
        if width > PHONE["width"]:
            screenshot(page, f"overflow-{_slug(path)}")
        assert width <= PHONE["width"], f"{path} is {width} px wide at {PHONE['width']} px"
    finally:
        context.close()


def test_chart_text_is_readable_on_a_phone(browser, live_server, small_fleet):
    """Every text of every chart shown at 390 px renders at 11 CSS px or more."""
    context, page, _ = _open(
        browser, f"{live_server.url}/stats/", scheme="light", language="en", viewport=PHONE
    )
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
            for path, slug in (("/", "home"), ("/stats/", "stats")):
                context, page, response = _open(
                    browser,
                    f"{live_server.url}{path}",
                    scheme=scheme,
                    language="en",
                    viewport=viewport,
                )
                try:
                    assert response.status == 200
                    assert page.locator("h1").count() == 1
                    screenshot(page, f"visitors-{slug}-{width}-{scheme}")
                finally:
                    context.close()
