"""Protections against the known "Sign in with X" attacks and provider faults."""

from __future__ import annotations

import os
import secrets
import threading
import time
from types import SimpleNamespace
from urllib.parse import urljoin, urlsplit

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder
from werkzeug.utils import redirect

from microblog import create_app
from microblog.extensions import db
from microblog.identity import attempts, redirects
from microblog.identity import client as clients
from microblog.identity.models import SignIn
from microblog.models import User
from microblog.testing import Person
from tests import live
from tests.helpers import base_config, csrf_token, need


def shifted_clock(seconds: float) -> SimpleNamespace:
    """A stand-in for the `time` module of one of our modules, running `seconds` ahead."""
    return SimpleNamespace(
        time=lambda: time.time() + seconds, monotonic=lambda: time.monotonic() + seconds
    )


def count_users() -> int:
    return db.session.scalar(sa.select(sa.func.count(User.id)))


# --- headers --------------------------------------------------------------------------


@pytest.mark.parametrize("fault", [None, "token_500"])
def test_callback_redirects_at_once_without_a_referrer(client, fake_idp, fault):
    if fault:
        fake_idp.fail(fault)
    resp = fake_idp.sign_in(client)
    assert resp.status_code == 302
    assert resp.headers["Referrer-Policy"] == "no-referrer"


def test_remember_cookie_lasts_thirty_days_by_default(client, fake_idp):
    fake_idp.sign_in(client, remember=True)
    cookie = client.get_cookie("remember_token")
    lifetime = cookie.expires.timestamp() - time.time()
    assert 29 * 86400 < lifetime <= 30 * 86400


# --- the ID token and the provider -----------------------------------------------------


@pytest.mark.parametrize(("provider", "accepted"), [("google", True), ("company", False)])
def test_google_short_issuer_spelling_only_for_google(client, fake_idp, provider, accepted):
    fake_idp.fail("google_short_iss")
    resp = fake_idp.sign_in(client, provider=provider)
    assert (resp.headers["Location"] == "/") is accepted


@pytest.mark.parametrize(("age", "accepted"), [(30, True), (120, False)])
def test_clock_skew_allows_a_small_drift_only(client, fake_idp, monkeypatch, age, accepted):
    monkeypatch.setattr(clients, "time", shifted_clock(300 + age))  # the kit's exp = iat + 300
    resp = fake_idp.sign_in(client)
    assert (resp.headers["Location"] == "/") is accepted


def test_unknown_key_ids_refetch_the_keys_at_most_once_a_minute(client, fake_idp):
    fake_idp.sign_in(client, email="a@example.org")
    keys_url = "https://accounts.google.com/jwks"
    fetches = lambda: sum(1 for c in fake_idp.rsps.calls if c.request.url == keys_url)  # noqa: E731
    assert fetches() == 1
    for _ in range(5):  # a flood of tokens signed with keys nobody published
        fake_idp.fail("bad_signature")
        fake_idp.key = type(fake_idp.key).generate_key(2048, parameters={"kid": f"k{_}"})
        fake_idp.old_keys.clear()
        fake_idp.sign_in(client, email="b@example.org")
    assert fetches() == 2
    assert count_users() == 1


def test_every_provider_request_uses_the_clients_session_class_and_timeout(
    app, client, fake_idp, monkeypatch
):
    from authlib.integrations.requests_client import OAuth2Session

    seen = []

    class Recording(OAuth2Session):
        def request(self, method, url, *args, **kwargs):
            seen.append((method, url, kwargs.get("timeout", self.default_timeout)))
            return super().request(method, url, *args, **kwargs)

    monkeypatch.setattr(clients.ProviderClient, "client_cls", Recording)
    assert fake_idp.sign_in(client).headers["Location"] == "/"
    timeout = app.config["OAUTH_TIMEOUT"]
    issuer = "https://accounts.google.com"
    assert seen == [
        ("GET", f"{issuer}/.well-known/openid-configuration", timeout),
        ("POST", f"{issuer}/token", timeout),
        ("GET", f"{issuer}/jwks", timeout),
        ("GET", f"{issuer}/userinfo", timeout),
    ]


# --- sessions --------------------------------------------------------------------------


def test_abandoned_sign_ins_do_not_grow_the_session_cookie(client, fake_idp):
    for _ in range(50):
        fake_idp.start(client, "google")
    cookie = client.get_cookie("session")
    assert len(cookie.value) < 2000
    with client.session_transaction() as s:
        assert len(s[attempts.ATTEMPTS_KEY]) == attempts.MAX_PENDING_ATTEMPTS
        assert [k for k in s if k.startswith("_state_")] == []  # Authlib keeps nothing here


def test_long_next_values_in_many_tabs_keep_the_cookie_small_and_work(client, fake_idp):
    # Random text, so that the cookie's compression cannot hide its size.
    nexts = [f"/explore?q={secrets.token_urlsafe(900)}" for _ in range(12)]
    nexts.append("/u/" + "é" * 2000)  # 2,000 characters typed, 12,000 on the wire
    tabs = [fake_idp.start(client, "google", next=n).headers["Location"] for n in nexts]
    assert all(len(n) >= 1200 for n in nexts)
    assert len(client.get_cookie("session").value) < 3800
    kept = list(zip(tabs, nexts, strict=True))[-attempts.MAX_PENDING_ATTEMPTS :]
    for location, next_url in kept:
        resp = client.get(fake_idp.authorize(location))
        assert resp.headers["Location"] == redirects.safe_next_url(next_url)
        assert len(client.get_cookie("session").value) < 3800


def test_a_sign_in_begun_on_one_server_finishes_on_another(app, app_config, fake_idp):
    from microblog.testing import IsolatedClient

    other = create_app(app_config)  # another server: the same database and SECRET_KEY only
    other.test_client_class = IsolatedClient
    here, there = app.test_client(), other.test_client()
    callback = fake_idp.authorize(fake_idp.start(here, "google", next="/explore").location)
    there.set_cookie("session", here.get_cookie("session").value)
    resp = there.get(callback)
    assert resp.headers["Location"] == "/explore"
    assert there.get("/").status_code == 200
    with other.app_context():
        db.engine.dispose()


def test_one_callback_replayed_at_once_signs_in_only_once(app, client, fake_idp):
    callback = fake_idp.authorize(fake_idp.start(client, "google").location)
    cookie = client.get_cookie("session").value
    barrier, locations = threading.Barrier(2), []

    def arrive() -> None:
        twin = app.test_client()
        twin.set_cookie("session", cookie)
        barrier.wait()
        locations.append(twin.get(callback).headers["Location"])

    threads = [threading.Thread(target=arrive) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(locations) == ["/", "/login?notice=unfinished"]
    token_url = "https://accounts.google.com/token"
    assert sum(1 for c in fake_idp.rsps.calls if c.request.url == token_url) == 1


def test_expired_attempts_are_dropped(client, fake_idp, monkeypatch):
    location = fake_idp.start(client, "google").headers["Location"]
    monkeypatch.setattr(attempts, "time", shifted_clock(attempts.ATTEMPT_TTL + 1))
    fake_idp.start(client, "company")
    with client.session_transaction() as s:
        assert [a["provider"] for a in s[attempts.ATTEMPTS_KEY].values()] == ["company"]
    resp = client.get(fake_idp.authorize(location))
    assert resp.headers["Location"] == "/login?notice=unfinished"


def test_sign_in_starts_a_new_session(client, fake_idp):
    with client.session_transaction() as s:
        s["planted"] = "by an attacker"
    fake_idp.sign_in(client)
    with client.session_transaction() as s:
        assert "planted" not in s
        assert s["_user_id"]


def test_sign_ins_are_recorded_for_settings(client, fake_idp):
    fake_idp.sign_in(client, provider="github")
    [record] = db.session.scalars(sa.select(SignIn))
    assert record.provider == "github" and record.ip_address == "127.0.0.1"


# --- `next` ----------------------------------------------------------------------------

# Offsite forms from Django's url_has_allowed_host_and_scheme tests and Werkzeug's rewrites.
HOSTILE_NEXT = [
    "http://example.com",
    "http:///example.com",
    "https://example.com",
    "ftp://example.com",
    r"\\example.com",
    r"\\\example.com",
    r"/\\/example.com",
    r"\\\\example.com",
    r"\\//example.com",
    r"/\/example.com",
    r"\/example.com",
    r"/\example.com",
    "https:/example.com",
    r"http:/\//example.com",
    r"http:\/example.com",
    r"http:/\example.com",
    'javascript:alert("XSS")',
    "\njavascript:alert(x)",
    "\x08//example.com",
    r"http://otherserver\@example.com",
    r"http:\\testserver\@example.com",
    r"http://testserver\me:pass@example.com",
    r"http://testserver\@example.com",
    r"http:\\testserver\confirm\me@example.com",
    "http:999999999",
    "ftp:9999999999",
    "\n",
    "http://[2001:cdba:0000:0000:0000:0000:3257:9652/",
    "http://2001:cdba:0000:0000:0000:0000:3257:9652]/",
    "//example.com",
    "///example.com",
    "/\t/example.com",
    "\t//example.com",
    "/\r/example.com",
    " /example.com",
    "https:example.com",
    "%2F%2Fexample.com",
    "/%2F%2Fexample.com",
    "/%5C%5Cexample.com",
    "/%09/example.com",
    "\u3000//example.com",
    "/\u2028/example.com",
    "\uff0f\uff0fexample.com",
    "data:text/html,x",
]


def test_the_hostile_table_is_large():
    assert len(set(HOSTILE_NEXT)) >= 30


def leaves_site(location: str) -> bool:
    """Where a browser on http://localhost/ goes with this Location header."""
    target = urlsplit(urljoin("http://localhost/", location.strip()))
    return target.hostname != "localhost" or target.scheme != "http"


def emitted_location(next_url: str) -> str:
    """The Location header Werkzeug puts on the wire for a redirect to next_url."""
    environ = EnvironBuilder(base_url="http://localhost/").get_environ()
    return redirect(next_url).get_wsgi_headers(environ)["Location"]


@pytest.mark.parametrize("next_url", HOSTILE_NEXT)
def test_hostile_next_values_are_refused(next_url):
    safe = redirects.safe_next_url(next_url)
    assert safe is None or not leaves_site(emitted_location(safe))
    assert safe is None  # none of these is a plain same-site path


@given(st.text(max_size=60))
@settings(max_examples=400, deadline=None)
def test_no_next_value_ever_leaves_the_site(next_url):
    safe = redirects.safe_next_url(next_url)
    if safe is not None:
        assert safe.startswith("/")
        assert not leaves_site(emitted_location(safe))


@given(st.text(alphabet=st.sampled_from("/\\:@.%\t\n ?#ae2F5C"), max_size=20))
@settings(max_examples=400, deadline=None)
def test_no_slashy_next_value_ever_leaves_the_site(next_url):
    safe = redirects.safe_next_url(next_url)
    if safe is not None:
        assert not leaves_site(emitted_location(safe))


@given(st.text(max_size=40))
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_no_next_value_causes_a_500(app, fake_idp, next_url):
    client = app.test_client()  # a new visitor for each value
    assert client.get("/login", query_string={"next": next_url}).status_code == 200
    # Through a provider that answers, so that `next` is read, kept and followed.
    resp = fake_idp.sign_in(client, next=next_url)
    assert resp.status_code == 302
    assert resp.headers["Location"] != "/login"  # signed in, whatever `next` was
    assert not leaves_site(resp.headers["Location"])


# --- rate limits and sizes -------------------------------------------------------------


@pytest.fixture
def limited_app(database_url):
    app = create_app(
        base_config(database_url, RATELIMIT_ENABLED=True, SIGNIN_RATE_LIMIT="3 per minute")
    )
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_starting_sign_ins_is_rate_limited_with_a_friendly_page(limited_app):
    client = limited_app.test_client()
    token = csrf_token(client)
    # An unknown provider: the limit is checked before the view, and nothing leaves the machine.
    codes = [client.post("/login/nope", data={"csrf_token": token}).status_code for _ in range(4)]
    assert codes == [404, 404, 404, 429]
    resp = client.post("/login/nope", data={"csrf_token": token})
    assert resp.status_code == 429
    assert "Retry-After" in resp.headers
    assert "<header" in resp.get_data(as_text=True)  # the site's own layout, not a bare error


def redis_url() -> str:
    """One Redis database per test process (xdist's gw0: 15, gw1: 14, ...): runs side by side
    never share counters, and one process's tests run one after another."""
    base = os.environ.get("MICROBLOG_TEST_REDIS_URL", "redis://127.0.0.1:6379")
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    return f"{base.rstrip('/')}/{15 - worker % 16}"


REDIS_URL = redis_url()


def redis_reachable() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def test_callbacks_are_rate_limited_in_redis_shared_by_workers(monkeypatch, database_url):
    need(redis_reachable(), f"the Redis rate-limit test needs Redis at {REDIS_URL}")
    import redis

    store = redis.Redis.from_url(REDIS_URL)
    store.flushdb()
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    config = base_config(database_url, RATELIMIT_ENABLED=True, CALLBACK_RATE_LIMIT="2 per minute")
    workers = [create_app(config), create_app(config)]  # two processes' worth of apps
    codes = [w.test_client().get("/auth/google/callback").status_code for w in workers * 2]
    assert codes == [302, 302, 429, 429]  # the second worker saw the first one's count
    assert any(b"auth.callback" in key for key in store.keys("*"))
    store.flushdb()


def test_huge_bodies_are_refused_early(client):
    resp = client.post("/login/google", data={"next": "x" * 200_000})
    assert resp.status_code == 413


# --- a real, slow provider -------------------------------------------------------------


@pytest.fixture
def slow_provider():
    def slow(environ, start_response):
        time.sleep(3)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    with live.LiveServer(slow) as server:
        yield server.url


def test_a_slow_provider_times_out_with_a_message(tmp_path, database_url, slow_provider):
    providers = tmp_path / "providers.toml"
    providers.write_text(
        f'[providers.slow]\ntitle = "Slow SSO"\nissuer = "{slow_provider}"\n'
        'client_id = "a"\nclient_secret = "b"\n'
    )
    app = create_app(
        base_config(database_url, MICROBLOG_PROVIDERS=str(providers), OAUTH_TIMEOUT=0.5)
    )
    client = app.test_client()
    started = time.monotonic()
    resp = client.post("/login/slow", data={"csrf_token": csrf_token(client)})
    assert time.monotonic() - started < 2.5
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    assert "Slow SSO did not answer in time" in client.get("/login").get_data(as_text=True)


def test_person_defaults_are_stable():
    assert Person(email="A@example.org").subject == Person(email="a@example.org").subject
