"""Provider answers are bounded: a total deadline, a size cap, a key-count cap, keys parsed once."""

from __future__ import annotations

import gzip
import http.server
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from joserfc.jwk import KeySet

from microblog import create_app
from microblog.extensions import db
from microblog.identity import limits
from microblog.models import User
from microblog.testing import Person, tokens
from tests import live
from tests.helpers import base_config, csrf_token

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
MIB = 1024 * 1024


# --- a hostile provider on loopback ----------------------------------------------------------

Route = Callable[["_Handler"], None]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 - the stdlib's name
        self._answer()

    def do_POST(self):  # noqa: N802
        self._answer()

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        path = self.path.split("?")[0]
        self.server.provider.requests.append((self.command, path, body))
        route = self.server.provider.routes.get(path)
        try:
            if route is None:
                self.send_error(404)
            else:
                route(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the app hung up on us: what these tests want

    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    provider: HostileProvider


class HostileProvider:
    """A provider on 127.0.0.1 that answers each path the way a test says."""

    def __init__(self, server: _Server):
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str, str]] = []
        self.routes["/.well-known/openid-configuration"] = answer(self.discovery())

    def discovery(self) -> dict[str, object]:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
        }

    def oidc_toml(self) -> str:
        return (
            f'[providers.hostile]\ntitle = "Hostile SSO"\nissuer = "{self.url}"\n'
            'client_id = "hostile-client"\nclient_secret = "hostile-secret"\n'
        )

    def oauth2_toml(self) -> str:
        return (
            f'[providers.hostile]\ntitle = "Hostile SSO"\nauthorize_url = "{self.url}/authorize"\n'
            f'token_url = "{self.url}/token"\nuserinfo_url = "{self.url}/me"\n'
            'client_id = "hostile-client"\nclient_secret = "hostile-secret"\n'
        )


@pytest.fixture
def hostile() -> Iterator[HostileProvider]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.provider = HostileProvider(server)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server.provider
    server.shutdown()
    server.server_close()
    thread.join(5)


def answer(body: object, delay: float = 0, headers: dict[str, str] | None = None) -> Route:
    """Answer JSON (or bytes) after `delay` seconds."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()

    def route(h: _Handler) -> None:
        time.sleep(delay)
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)

    return route


def drip(part: str, interval: float = 0.2, total: float = 8) -> Route:
    """Send the status line and headers, or the body, a byte at a time: each read is quick."""
    body = json.dumps({"issuer": "x", "padding": "." * 200}).encode()
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()

    def route(h: _Handler) -> None:
        slow, fast = (head, b"") if part == "headers" else (body, head)
        h.wfile.write(fast)
        h.wfile.flush()
        for i in range(int(total / interval)):
            h.wfile.write(slow[i : i + 1])
            h.wfile.flush()
            time.sleep(interval)

    return route


def oversized(document: dict[str, object], how: str) -> Route:
    """Answer `document` padded to 20 MiB: streamed, announced in Content-Length, or gzipped.

    Valid JSON, so that only a size cap can stop it.
    """
    data = json.dumps({**document, "padding": "x" * (20 * MIB)}).encode()

    def route(h: _Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        if how == "announced":
            h.send_header("Content-Length", str(len(data)))
        else:
            h.send_header("Connection", "close")
            h.close_connection = True
        if how == "gzip-bomb":  # 20 MiB of JSON in about 20 KiB
            h.send_header("Content-Encoding", "gzip")
        h.end_headers()
        h.wfile.write(gzip.compress(data) if how == "gzip-bomb" else data)

    return route


@contextmanager
def hostile_app(tmp_path: Path, database_url: str, toml: str, **config: object):
    providers = tmp_path / "providers.toml"
    providers.write_text(toml)
    app = create_app(base_config(database_url, MICROBLOG_PROVIDERS=str(providers), **config))
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()


def start(client) -> requests.Response:
    return client.post("/login/hostile", data={"csrf_token": csrf_token(client)})


def flashed(client) -> str:
    return client.get("/login").get_data(as_text=True)


# --- a total deadline ------------------------------------------------------------------------


@SQLITE_ONLY
@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_provider_dripping_its_answer_is_cut_at_the_deadline(
    tmp_path, database_url, hostile, part
):
    hostile.routes["/.well-known/openid-configuration"] = drip(part)
    with hostile_app(tmp_path, database_url, hostile.oidc_toml(), OAUTH_TIMEOUT=1) as app:
        client = app.test_client()
        token = csrf_token(client)
        started = time.monotonic()
        resp = client.post("/login/hostile", data={"csrf_token": token})
        elapsed = time.monotonic() - started
        assert resp.status_code == 302 and resp.headers["Location"] == "/login"
        assert elapsed < 3, f"a drip held the request {elapsed:.1f} s despite a 1 s deadline"
        assert "Hostile SSO did not answer in time" in flashed(client)


@SQLITE_ONLY
@pytest.mark.parametrize(("delay", "signed_in"), [(0.1, True), (1.2, False)])
def test_the_deadline_covers_all_provider_requests_of_a_page(
    tmp_path, database_url, hostile, delay, signed_in
):
    """Token and user info answer in `delay` s each: each within 2 s, but together?"""
    hostile.routes["/token"] = answer({"access_token": "t", "token_type": "Bearer"}, delay)
    profile = {"sub": "42", "email": "slow@example.org", "email_verified": True}
    hostile.routes["/me"] = answer(profile, delay)
    with hostile_app(tmp_path, database_url, hostile.oauth2_toml(), OAUTH_TIMEOUT=2) as app:
        client = app.test_client()
        state = live.query_param(start(client).headers["Location"], "state")
        started = time.monotonic()
        resp = client.get(f"/auth/hostile/callback?code=c&state={state}")
        assert time.monotonic() - started < 3.5
        assert (resp.headers["Location"] == "/") is signed_in
        if not signed_in:
            assert "Hostile SSO did not answer in time" in flashed(client)


# --- a size cap ------------------------------------------------------------------------------


@SQLITE_ONLY
@pytest.mark.parametrize("how", ["streamed", "announced", "gzip-bomb"])
def test_an_answer_larger_than_the_cap_is_refused(tmp_path, database_url, hostile, how):
    hostile.routes["/.well-known/openid-configuration"] = oversized(hostile.discovery(), how)
    with hostile_app(tmp_path, database_url, hostile.oidc_toml()) as app:
        client = app.test_client()
        started = time.monotonic()
        resp = start(client)
        assert time.monotonic() - started < 5
        assert resp.headers["Location"] == "/login"
        assert "We could not verify the answer from Hostile SSO" in flashed(client)


@SQLITE_ONLY
def test_an_answer_just_under_the_cap_is_read(tmp_path, database_url, hostile):
    padding = "x" * (limits.MAX_ANSWER_BYTES - 1000)
    document = {**hostile.discovery(), "padding": padding}
    compressed = gzip.compress(json.dumps(document).encode())
    route = answer(compressed, headers={"Content-Encoding": "gzip"})
    hostile.routes["/.well-known/openid-configuration"] = route
    with hostile_app(tmp_path, database_url, hostile.oidc_toml()) as app:
        location = start(app.test_client()).headers["Location"]
        assert location.startswith(f"{hostile.url}/authorize?")


def count_users() -> int:
    return db.session.scalar(sa.select(sa.func.count(User.id)))


@pytest.mark.parametrize("provider", ["google", "github", "plain"])
def test_a_huge_profile_answer_is_refused(client, fake_idp, provider):
    """A valid profile padded to 2 MiB: only the size cap stops it."""
    person = Person(email="ann@example.org")
    url, profile = {
        "google": ("https://accounts.google.com/userinfo", person.claims()),
        "github": ("https://api.github.com/user", {"id": 7, "login": "ann"}),
        "plain": ("https://plain.example.net/api/me", person.claims()),
    }[provider]
    huge = {**profile, "padding": "x" * (2 * MIB)}
    fake_idp.rsps.replace("GET", url, json=huge)
    resp = fake_idp.sign_in(client, provider=provider)
    assert resp.headers["Location"] == "/login"
    assert count_users() == 0
    assert "We could not verify the answer from" in flashed(client)


# --- the key set -----------------------------------------------------------------------------


def publish_keys(fake_idp, extra: int) -> None:
    """Publish the provider's key and `extra` others, as a hostile key set would."""
    others = [tokens.new_key().as_dict(private=False) for _ in range(min(extra, 3))]
    keys = [fake_idp.key.as_dict(private=False)]
    keys += [{**others[i % len(others)], "kid": f"extra-{i}"} for i in range(extra)]
    fake_idp.rsps.replace("GET", "https://accounts.google.com/jwks", json={"keys": keys})


@pytest.mark.parametrize(
    ("extra", "accepted"), [(limits.MAX_KEYS - 1, True), (limits.MAX_KEYS, False)]
)
def test_the_key_count_is_capped(client, fake_idp, extra, accepted):
    publish_keys(fake_idp, extra)
    resp = fake_idp.sign_in(client)
    assert (resp.headers["Location"] == "/") is accepted
    assert count_users() == (1 if accepted else 0)


@pytest.fixture
def key_imports(monkeypatch) -> list[int]:
    """Count the key sets imported (each costs time per key)."""
    calls: list[int] = []
    original = KeySet.import_key_set.__func__

    def counting(cls, data, *args, **kwargs):
        calls.append(len(data["keys"]))
        return original(cls, data, *args, **kwargs)

    monkeypatch.setattr(KeySet, "import_key_set", classmethod(counting))
    return calls


def test_the_key_set_is_parsed_once_not_on_every_sign_in(app, fake_idp, key_imports):
    publish_keys(fake_idp, 50)
    for n in range(3):
        assert (
            fake_idp.sign_in(app.test_client(), email=f"k{n}@example.org").headers["Location"]
            == "/"
        )
    assert key_imports == [51]


def test_a_new_key_is_still_fetched_and_parsed(app, fake_idp, key_imports):
    assert fake_idp.sign_in(app.test_client(), email="a@example.org").headers["Location"] == "/"
    fake_idp.rotate_keys()  # tokens now carry a kid the parsed set does not know
    assert fake_idp.sign_in(app.test_client(), email="b@example.org").headers["Location"] == "/"
    assert fake_idp.sign_in(app.test_client(), email="c@example.org").headers["Location"] == "/"
    assert key_imports == [1, 2]


# --- gunicorn --------------------------------------------------------------------------------

# Short worker timeouts, so the app loads before the fork: a busy machine may take longer than
# the timeout to import it, and gunicorn counts a worker's boot against its timeout.
PRELOAD = "--preload"


def gunicorn_env(database_url: str, tmp_path: Path, toml: str, **settings: str) -> dict[str, str]:
    providers = tmp_path / "providers.toml"
    providers.write_text(toml)
    return live.clean_env(
        DATABASE_URL=database_url,
        SECRET_KEY="gunicorn-test-secret",
        MICROBLOG_PROVIDERS=str(providers),
        MICROBLOG_ENV="production",
        **settings,
    )


@SQLITE_ONLY
def test_a_slow_provider_does_not_hold_a_gunicorn_worker(tmp_path, database_url, hostile):
    hostile.routes["/.well-known/openid-configuration"] = drip("body", total=20)
    env = gunicorn_env(
        database_url, tmp_path, hostile.oidc_toml(),
        MICROBLOG_OAUTH_TIMEOUT="1", GUNICORN_CMD_ARGS=f"--timeout 8 {PRELOAD}",
    )  # fmt: skip
    with live.run_gunicorn("wsgi:app", env, tmp_path / "gunicorn", workers=1) as server:
        with live.Visitor(server.url) as visitor:
            started = time.monotonic()
            page = visitor.start("hostile")
            assert time.monotonic() - started < 5  # about 1 s, well before the worker timeout
            assert visitor.path(page) == "/login"
            assert "Hostile SSO did not answer in time" in page.text
        assert "WORKER TIMEOUT" not in server.error_log.read_text()


@SQLITE_ONLY
def test_a_worker_timeout_does_not_log_the_callback_code(tmp_path, database_url, hostile):
    hostile.routes["/authorize"] = answer({})
    hostile.routes["/token"] = answer({}, delay=12)  # longer than gunicorn lets a worker take
    env = gunicorn_env(
        database_url, tmp_path, hostile.oidc_toml(),
        MICROBLOG_OAUTH_TIMEOUT="30", GUNICORN_CMD_ARGS=f"--timeout 4 {PRELOAD}",
    )  # fmt: skip
    with live.run_gunicorn("wsgi:app", env, tmp_path / "gunicorn", workers=1) as server:
        with live.Visitor(server.url) as visitor:
            state = live.query_param(visitor.start("hostile").url, "state")
            killed = visitor.get(f"/auth/hostile/callback?code=SECRET-CODE-123&state={state}")
            assert killed.status_code == 500  # gunicorn's own answer for a killed request
        deadline = time.monotonic() + 10
        while "Error handling request" not in server.error_log.read_text():
            assert time.monotonic() < deadline, server.error_log.read_text()
            time.sleep(0.1)
        log = server.error_log.read_text()
    assert "WORKER TIMEOUT" in log
    assert "SECRET-CODE-123" not in log
    assert re.search(r"callback\?code=\[redacted\]", log)


def test_gunicorn_lets_a_worker_outlast_the_provider_deadline(monkeypatch):
    for seconds, at_least in [("", 30), ("45", 46)]:
        monkeypatch.setenv("MICROBLOG_OAUTH_TIMEOUT", seconds)
        settings: dict[str, object] = {}
        exec((live.ROOT / "gunicorn.conf.py").read_text(), settings)
        assert settings["timeout"] >= at_least
