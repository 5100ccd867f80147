"""A page that does not exist is answered with the site's own 404 page: its layout (the
stylesheet, so its colour scheme), its navigation and the language asked for; under
/api/ the answer stays the API's JSON error."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_missing_page_gets_the_sites_404_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert '<html lang="en">' in page
    assert "/static/portal/site.css" in page
    assert "<h1>Page not found</h1>" in page
    assert 'href="/access/"' in page  # the site's navigation


def test_the_404_page_is_in_the_language_asked_for(client):
    client.cookies["django_language"] = "zh-hans"
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert '<html lang="zh-Hans">' in page
    assert "收集哪些数据" in page  # the navigation
    assert "<h1>页面不存在</h1>" in page and "Page not found" not in page


def test_an_unknown_api_address_still_gets_the_json_error(client):
    response = client.get("/api/v1/no-such-operation")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
