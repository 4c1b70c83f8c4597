"""End to end in headless Chromium: sign-in through real providers, posting, following, sign-out."""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from microblog import create_app
from microblog.extensions import db
from microblog.models import User
from microblog.social.models import Post
from tests import live
from tests.helpers import base_config, need

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying to reach Google's hosts,
# which this machine's closed network refuses.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip
OUTPUT = live.ROOT / "test-output"
LOOPBACK = ("127.0.0.1", "localhost")

pytestmark = [
    live.MOCK_WARNINGS,
    pytest.mark.browser,
    # What the browser sees does not depend on the database; the other modules cover both.
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch Debian's Chromium (never a downloaded one), or skip if it is not installed."""
    need(
        Path(CHROMIUM).exists(),
        f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)",
    )
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url():
    """Stand in for pytest-playwright's own, a plugin method that pytest 9 deprecates (a warning,
    so an error here); these tests use full URLs."""
    return None


@pytest.fixture
def site(server, idp, database_url, tmp_path):
    """A fresh app with both providers: oidc-provider-mock and the built-in development one."""
    providers = tmp_path / "providers.toml"
    providers.write_text(idp.providers_toml(dev=True))
    config = base_config(
        database_url,
        MICROBLOG_ENV="development",
        MICROBLOG_PROVIDERS=str(providers),
        DEV_IDP_ISSUER=f"{server.url}/dev-idp",
    )
    app = create_app(config)
    server.app = app
    yield app
    server.app = None
    with app.app_context():
        db.engine.dispose()


def loopback_only(context: BrowserContext) -> BrowserContext:
    """Let the context reach only this machine (oidc-provider-mock links a CDN stylesheet).

    What was refused is listed in `context.offsite`, by the page that asked for it.
    """
    context.offsite = []

    def route(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            context.offsite.append((route.request.frame.url, route.request.url))
            route.abort()

    context.route("**/*", route)
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def context(new_context, site):
    """pytest-playwright's context, on this test's app and kept on loopback."""
    return loopback_only(new_context())


@pytest.fixture
def shots(request, page):
    """Screenshot the main pages a test visits; write them under test-output/ if it fails."""
    taken: list[tuple[str, bytes]] = []

    def shoot(on: Page, name: str) -> None:
        taken.append((name, on.screenshot(full_page=True)))

    yield shoot
    report = getattr(request.node, "rep_call", None)  # set by pytest-playwright's hook
    if report is not None and report.failed:
        if not page.is_closed():
            taken.append(("at-failure", page.screenshot(full_page=True)))
        live.save_screenshots(OUTPUT, request.node.nodeid, taken)


def authorize_at_mock(page: Page, idp: live.MockIdP, sub: str) -> None:
    """On oidc-provider-mock's page, sign in as `sub`."""
    expect(page).to_have_url(re.compile(rf"^{re.escape(idp.issuer)}/oauth2/authorize\?"))
    page.locator("input[name=sub]").fill(sub)
    page.get_by_role("button", name="Authorize").click()


def sign_in(page: Page, server, idp, sub: str, remember: bool = False) -> None:
    page.goto(f"{server.url}/login")
    if remember:
        page.get_by_label("Remember me on this device").check()
    page.get_by_role("button", name=f"Sign in with {live.MOCK_TITLE}").click()
    authorize_at_mock(page, idp, sub)
    expect(page).to_have_url(f"{server.url}/")


def status(page: Page):
    return page.get_by_role("main").get_by_role("status")


def test_page_that_needs_sign_in_leads_through_the_provider_and_back(page, server, idp, shots):
    sub = idp.new_person(email="ann@example.org", name="Ann")
    page.goto(f"{server.url}/settings")
    expect(page).to_have_url(f"{server.url}/login?next=%2Fsettings")
    expect(status(page)).to_have_text("Please sign in to see that page.")
    shots(page, "login")
    page.get_by_role("button", name=f"Sign in with {live.MOCK_TITLE}").click()
    shots(page, "provider")
    authorize_at_mock(page, idp, sub)
    expect(page).to_have_url(f"{server.url}/settings")
    expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()
    expect(page.get_by_label("Nickname", exact=True)).to_have_value("ann")
    shots(page, "settings")


def test_development_provider_works_in_the_browser(page, server, shots):
    page.goto(f"{server.url}/explore")
    shots(page, "explore")
    page.get_by_role("link", name="Sign in", exact=True).click()
    dev_button = page.get_by_role("button", name="Sign in with Development sign-in")

    dev_button.click()
    expect(page.get_by_role("heading", name="Sign in as")).to_be_visible()
    page.get_by_role("button", name="Cancel").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("alert")).to_contain_text("was cancelled")

    dev_button.click()
    expect(page).to_have_url(re.compile(r"/dev-idp/authorize\?"))
    page.get_by_label("Email", exact=True).fill("dev.person@example.org")
    page.get_by_label("Display name (optional)").fill("Dev Person")
    expect(page.get_by_label("Email verified")).to_be_checked()
    shots(page, "dev-provider")
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{server.url}/")
    expect(page.get_by_label("What’s new, dev_person?")).to_be_visible()
    shots(page, "home")


def add_author(app, nickname: str, post: str) -> None:
    """Someone else, with a post (made directly: this test is about the pages, not sign-in)."""
    with app.app_context():
        user = User(nickname=nickname, email=f"{nickname}@example.org")
        db.session.add(user)
        db.session.flush()
        db.session.add(Post(user_id=user.id, body=post))
        db.session.commit()


def test_post_follow_settings_and_sign_out(page, context, new_context, server, site, idp, shots):
    add_author(site, "bob", "Hello from Bob")
    sign_in(page, server, idp, idp.new_person(email="cat@example.org"))
    feed = page.locator(".feed")

    page.get_by_label("What’s new, cat?").fill("My first post from a real browser")
    page.get_by_role("button", name="Post", exact=True).click()
    expect(status(page)).to_have_text("Your post is published.")
    expect(feed.locator("article")).to_have_count(1)
    expect(feed).to_contain_text("My first post from a real browser")
    shots(page, "home")

    page.get_by_role("link", name="Explore").click()
    expect(feed.locator("article")).to_have_count(2)
    shots(page, "explore")
    feed.get_by_role("link", name="@bob", exact=True).click()
    expect(page).to_have_url(f"{server.url}/u/bob")
    page.get_by_role("button", name="Follow bob").click()
    expect(status(page)).to_have_text("You are following bob.")
    expect(page.locator(".stats")).to_contain_text("1 follower")
    shots(page, "profile")
    page.get_by_role("link", name="microblog").click()
    expect(feed).to_contain_text("Hello from Bob")

    page.goto(f"{server.url}/u/bob")
    page.get_by_role("button", name="Unfollow bob").click()
    expect(status(page)).to_have_text("You no longer follow bob.")
    page.get_by_role("link", name="microblog").click()
    expect(feed.locator("article")).to_have_count(1)
    expect(feed).not_to_contain_text("Hello from Bob")

    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Nickname", exact=True).fill("cat_b")
    page.get_by_label("About you").fill("I test things in a browser.")
    page.get_by_role("button", name="Save").click()
    expect(status(page)).to_have_text("Your settings are saved.")
    shots(page, "settings")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="cat_b").click()
    expect(page).to_have_url(f"{server.url}/u/cat_b")
    expect(page.locator(".about")).to_have_text("I test things in a browser.")

    captured = context.cookies()
    page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{server.url}/login")
    expect(status(page)).to_have_text("You have signed out.")
    page.goto(f"{server.url}/settings")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    # The cookies from before signing out no longer sign anyone in.
    replay = loopback_only(new_context())
    replay.add_cookies(captured)
    replayed = replay.new_page()
    replayed.goto(f"{server.url}/settings")
    expect(replayed).to_have_url(re.compile(r"/login\?next="))


@pytest.mark.parametrize("remember", [True, False], ids=["remember-me", "no-remember-me"])
def test_remember_me_survives_closing_the_browser(
    page, context, new_context, server, site, idp, remember, shots
):
    sign_in(page, server, idp, idp.new_person(email="dee@example.org"), remember=remember)
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["session"]["expires"] == -1  # gone when the browser closes
    if remember:
        lifetime = site.config["REMEMBER_COOKIE_DURATION"].total_seconds()
        assert cookies["remember_token"]["expires"] == pytest.approx(time.time() + lifetime, abs=60)
    else:
        assert "remember_token" not in cookies
    context.close()

    # "Closing the browser": a new one keeps the persistent cookies, not the session cookie.
    kept = [c for name, c in cookies.items() if name != "session"]
    reopened = loopback_only(new_context())
    reopened.add_cookies(kept)
    again = reopened.new_page()
    again.goto(f"{server.url}/settings")
    if not remember:
        expect(again).to_have_url(re.compile(r"/login\?next="))
        return
    expect(again).to_have_url(f"{server.url}/settings")
    expect(again.get_by_label("Nickname", exact=True)).to_have_value("dee")

    # Signing out from the confirmation page ends the remembered sign-in too.
    again.goto(f"{server.url}/logout")
    shots(again, "logout")
    again.get_by_role("main").get_by_role("button", name="Sign out", exact=True).click()
    expect(again).to_have_url(f"{server.url}/login")
    later = loopback_only(new_context())
    later.add_cookies(kept)
    after = later.new_page()
    after.goto(f"{server.url}/settings")
    expect(after).to_have_url(re.compile(r"/login\?next="))


def test_our_pages_load_nothing_from_other_sites(page, context, server, site, shots):
    page.goto(f"{server.url}/login")
    page.get_by_role("button", name="Sign in with Development sign-in").click()
    page.get_by_label("Email", exact=True).fill("local@example.org")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("What’s new, local?").fill("Links stay links: https://example.org/x")
    page.get_by_role("button", name="Post").click()
    for path in ["/", "/explore", "/u/local", "/settings", "/logout", "/u/nobody"]:
        page.goto(server.url + path)
        shots(page, path.strip("/") or "home")
    assert context.offsite == []
