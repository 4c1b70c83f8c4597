"""In Chromium: another site's form posted to the callback; many tabs with a long `next`."""

from __future__ import annotations

import re
import secrets
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, Route, expect

from tests import live
from tests.web.test_browser import (  # noqa: F401 - the browser harness's fixtures
    authorize_at_mock,
    base_url,
    browser_type_launch_args,
    context,
    sign_in,
    site,
)

pytestmark = [
    live.MOCK_WARNINGS,
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

SUSPENDED = "Your account was suspended. Call +1 555 0100 to restore it."
# Another site: localhost is not the same site as 127.0.0.1, where the app runs.
ATTACKER = "http://localhost:9/prize"


def serve_attacker_page(page: Page, callback: str) -> None:
    """Serve, as another site, a page whose form posts itself to the app's callback."""
    html = f"""<!doctype html><title>You won</title>
      <form method="post" action="{callback}">
        <input type="hidden" name="error" value="server_error">
        <input type="hidden" name="error_description" value="{SUSPENDED}">
      </form>
      <script>document.forms[0].submit()</script>"""

    def fulfil(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body=html)

    page.route(ATTACKER, fulfil)


def session_cookie(page: Page) -> str | None:
    return next((c["value"] for c in page.context.cookies() if c["name"] == "session"), None)


def test_a_cross_site_post_to_the_callback_keeps_the_visitors_session(page, server, idp):
    sign_in(page, server, idp, idp.new_person())  # without "Remember me": the cookie is all
    before = session_cookie(page)
    serve_attacker_page(page, f"{server.url}/auth/{live.MOCK_PROVIDER}/callback")
    page.goto(ATTACKER)
    expect(page).to_have_url(f"{server.url}/")  # via /login, which sees the visitor signed in
    expect(page.get_by_role("alert")).to_contain_text("That sign-in did not finish")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert "suspended" not in page.content()
    assert session_cookie(page) is not None and before is not None


def test_sign_in_works_from_several_tabs_with_long_next_values(page, server, idp):
    tabs, nexts = [], []
    for _ in range(4):
        next_url = f"/explore?q={secrets.token_urlsafe(900)}"  # 1,210 characters
        tab = page.context.new_page()
        tab.goto(f"{server.url}/login?next={quote(next_url)}")
        tab.get_by_role("button", name=f"Sign in with {live.MOCK_TITLE}").click()
        expect(tab).to_have_url(re.compile(rf"^{re.escape(idp.issuer)}/oauth2/authorize\?"))
        tabs.append(tab)
        nexts.append(next_url)
    [cookie] = [c for c in page.context.cookies() if c["name"] == "session"]
    assert len(cookie["value"]) < 3800
    last = tabs[-1]
    authorize_at_mock(last, idp, idp.new_person())
    expect(last).to_have_url(f"{server.url}{nexts[-1]}")
    expect(last.get_by_role("button", name="Sign out")).to_be_visible()
