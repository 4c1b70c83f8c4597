"""Signing out in headless Chromium: at the provider too and back, and from Settings."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests import live
from tests.web import test_browser as shared
from tests.web.test_browser import loopback_only, sign_in, status

# The browser, the site (oidc-provider-mock and the development provider) and screenshots:
# the same fixtures as the other browser tests.
browser_type_launch_args = shared.browser_type_launch_args
base_url = shared.base_url
site = shared.site
context = shared.context
shots = shared.shots

pytestmark = [
    live.MOCK_WARNINGS,
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def test_sign_out_here_and_at_the_provider_and_back(page, server, idp, shots):
    sign_in(page, server, idp, idp.new_person(email="rp@example.org"))
    page.goto(f"{server.url}/logout")
    page.get_by_label(f"Also sign out of {live.MOCK_TITLE}").check()
    shots(page, "logout")
    page.get_by_role("main").get_by_role("button", name="Sign out", exact=True).click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(idp.issuer)}/oauth2/end_session\?"))
    shots(page, "provider-sign-out")
    page.get_by_role("button", name="End session").click()
    expect(page).to_have_url(f"{server.url}/login")
    expect(status(page)).to_have_text(
        f"You have signed out. You are signed out of {live.MOCK_TITLE} too."
    )
    shots(page, "back")
    page.goto(f"{server.url}/settings")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_where_youre_signed_in_and_sign_out_everywhere_else(
    page, new_context, server, site, idp, shots
):
    sub = idp.new_person(email="two@example.org")
    other = loopback_only(new_context()).new_page()
    sign_in(other, server, idp, sub)
    sign_in(page, server, idp, sub)
    page.goto(f"{server.url}/settings")
    sessions = page.get_by_role("list").filter(has_text="This browser")
    expect(sessions.get_by_role("listitem")).to_have_count(2)
    expect(sessions.locator("li[aria-current=true]")).to_contain_text("This browser")
    shots(page, "settings-sessions")
    page.get_by_role("button", name="Sign out everywhere else").click()
    expect(status(page)).to_have_text("Signed out 1 other session; this one stays signed in.")
    expect(sessions.get_by_role("listitem")).to_have_count(1)
    other.goto(f"{server.url}/settings")
    expect(other).to_have_url(re.compile(r"/login\?next="))
    page.goto(f"{server.url}/settings")
    expect(page).to_have_url(f"{server.url}/settings")
