"""In headless Chromium: the characters-left counter, deleting with a confirmation, the front page,
and text that must not widen a page."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from microblog import create_app
from microblog.extensions import db
from microblog.models import User
from microblog.social.models import Post
from tests.helpers import base_config, need
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, loopback_only

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium, as in test_browser (which skips when it is missing)."""

    need(Path(CHROMIUM).exists(), f"browser tests need Chromium at {CHROMIUM}")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url():
    return None


@pytest.fixture
def site(server, database_url, tmp_path):
    """A fresh app on the live server whose only provider is the development one."""
    providers = tmp_path / "providers.toml"
    providers.write_text('[providers.dev]\npreset = "dev"\n')
    app = create_app(
        base_config(
            database_url,
            MICROBLOG_ENV="development",
            MICROBLOG_PROVIDERS=str(providers),
            DEV_IDP_ISSUER=f"{server.url}/dev-idp",
        )
    )
    server.app = app
    yield app
    server.app = None
    with app.app_context():
        db.engine.dispose()


def add_user(app, nickname: str, *bodies: str) -> User:
    with app.app_context():
        user = User(
            nickname=nickname, email=f"{nickname}@example.org", display_name=nickname.title()
        )
        db.session.add(user)
        db.session.flush()
        db.session.add_all(Post(user_id=user.id, body=body) for body in bodies)
        db.session.commit()
        db.session.refresh(user)
        db.session.expunge(user)
        return user


def signed_in(context: BrowserContext, app, server, user: User) -> BrowserContext:
    """Give the browser the session cookie of a signed-in user (sign-in is tested elsewhere)."""
    from microblog.identity.sessions import create_record

    with app.test_request_context():
        user = db.session.merge(user)
        create_record(user, "google", f"google-{user.id}")
        cookie = app.session_interface.get_signing_serializer(app).dumps(
            {"_user_id": user.get_id(), "_fresh": True}
        )
    context.add_cookies([{"name": "session", "value": cookie, "url": server.url}])
    return context


def new_page(new_context, **options) -> tuple[BrowserContext, Page]:
    context = loopback_only(new_context(**options))
    return context, context.new_page()


def test_the_counter_counts_down_and_the_limit_holds(new_context, site, server):
    user = add_user(site, "ann")
    context, page = new_page(new_context)
    signed_in(context, site, server, user)
    page.goto(server.url + "/")
    counter = page.locator("#body-counter")
    expect(counter).to_have_text("280 characters left")
    page.get_by_label("What’s new, ann?").fill("héllo 😀")
    expect(counter).to_have_text("273 characters left")  # characters, not UTF-16 units
    page.get_by_label("What’s new, ann?").fill("x" * 281)
    expect(counter).to_have_text("1 character too many")
    expect(counter).to_have_class("counter over")
    page.get_by_role("button", name="Post").click()
    expect(page.locator("#body-error")).to_contain_text("this one has 281")
    expect(page.get_by_label("What’s new, ann?")).to_have_value("x" * 281)
    assert not page.locator("script:not([src])").count()


def test_without_javascript_there_is_no_counter_and_the_limit_still_holds(
    new_context, site, server
):
    user = add_user(site, "ann")
    context, page = new_page(new_context, java_script_enabled=False)
    signed_in(context, site, server, user)
    page.goto(server.url + "/")
    assert page.locator("#body-counter").count() == 0
    page.get_by_label("What’s new, ann?").fill("y" * 281)
    page.get_by_role("button", name="Post").click()
    expect(page.locator("#body-error")).to_contain_text("this one has 281")


@pytest.mark.parametrize("javascript", [True, False])
def test_delete_asks_first(new_context, site, server, javascript):
    user = add_user(site, "ann", "regrettable")
    context, page = new_page(new_context, java_script_enabled=javascript)
    signed_in(context, site, server, user)
    page.goto(server.url + "/u/ann")
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", name="Delete this post?")).to_be_visible()
    page.get_by_role("link", name="Keep it").click()
    expect(page).to_have_url(server.url + "/u/ann")
    expect(page.locator(".post-body")).to_have_text("regrettable")
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("button", name="Delete for good").click()
    expect(page).to_have_url(server.url + "/u/ann")
    expect(page.get_by_text("Your post is deleted.")).to_be_visible()
    expect(page.locator(".post-body")).to_have_count(0)


def test_the_front_page_welcomes_visitors_and_signs_them_in(new_context, site, server):
    add_user(site, "bob", "Hello from bob")
    context, page = new_page(new_context)
    page.goto(server.url + "/")
    expect(page.get_by_role("heading", name="A small microblog")).to_be_visible()
    expect(page.locator(".post-body")).to_have_text(["Hello from bob"])
    page.get_by_role("button", name="Sign in with Development").click()
    page.get_by_label("Email", exact=True).fill("cat@example.org")
    page.get_by_label("Display name (optional)").fill("Cat Stevens")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Your timeline")).to_be_visible()
    page.goto(server.url + "/u/cat")
    expect(page.get_by_role("heading", name="Cat Stevens")).to_be_visible()
    assert context.offsite == []


def test_a_tower_of_marks_does_not_widen_the_page(new_context, site, server):
    with site.app_context():
        user = User(nickname="zed", email="zed@example.org")
        db.session.add(user)
        db.session.flush()
        # Stored as if written before cleaning capped them: showing must cap them too.
        db.session.add(Post(user_id=user.id, body="Z" + "\u0301\u0489" * 140 + " end"))
        db.session.commit()
    context, page = new_page(new_context, viewport={"width": 400, "height": 800})
    page.goto(server.url + "/explore")
    expect(page.locator(".post-body")).to_contain_text("end")
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
