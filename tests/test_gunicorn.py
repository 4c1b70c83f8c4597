"""Production serving: gunicorn workers sharing sign-ins, and the public URL behind a proxy."""

from __future__ import annotations

import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests
import responses

from microblog import create_app
from microblog.extensions import db
from microblog.testing import FakeIdP
from tests import live
from tests.helpers import base_config

pytestmark = live.MOCK_WARNINGS
SIGN_INS_PER_ROUND = 6
MAX_ROUNDS = 5


@pytest.fixture(scope="module")
def idp():
    with live.run_mock_idp() as idp:
        yield idp


def gunicorn_env(database_url: str, providers_file) -> dict[str, str]:
    return live.clean_env(
        DATABASE_URL=database_url,
        SECRET_KEY="gunicorn-test-secret",  # shared by the workers, as in production
        MICROBLOG_PROVIDERS=str(providers_file),
        MICROBLOG_ENV="production",
    )


def sign_in_round(url: str, idp) -> list[str]:
    """Sign in several new people at once; return each flow's state."""
    barrier = threading.Barrier(SIGN_INS_PER_ROUND, timeout=60)

    def one(_: int) -> str:
        with live.Visitor(url) as visitor:
            sub = idp.new_person()
            barrier.wait()  # start together, so both workers get work
            provider_page = visitor.start()
            assert provider_page.url.startswith(idp.issuer), provider_page.text[:500]
            page = visitor.finish(visitor.consent(provider_page, sub))
            assert visitor.path(page) == "/", page.text[:500]
            assert visitor.path(visitor.get("/settings")) == "/settings"  # still signed in
            return live.query_param(provider_page.url, "state")

    with ThreadPoolExecutor(SIGN_INS_PER_ROUND) as pool:
        return list(pool.map(one, range(SIGN_INS_PER_ROUND)))


def all_logged(states: set[str], accesses: list[live.Access]) -> bool:
    """True once the access log holds the callback of every one of these sign-ins."""
    callbacks = [a for a in accesses if a.path == "/auth/mock/callback"]
    return states <= {live.query_param("?" + a.query, "state") for a in callbacks}


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_sign_ins_work_across_two_workers(database_url, idp, tmp_path):
    providers = tmp_path / "providers.toml"
    providers.write_text(idp.providers_toml())
    discovery, keys = idp.discovery_hits, idp.jwks_hits
    env = gunicorn_env(database_url, providers)
    with live.run_gunicorn("wsgi:app", env, tmp_path / "gunicorn", workers=2) as server:
        # Which worker started each flow (POST /login/mock) and which finished it (callback).
        started: dict[str, str] = {}
        finished: dict[str, str] = {}
        for _ in range(MAX_ROUNDS):
            states = set(sign_in_round(server.url, idp))
            done = functools.partial(all_logged, states)
            for access in server.accesses(until=done):
                if access.path == "/login/mock":
                    started[live.query_param(access.location, "state")] = access.pid
                elif access.path == "/auth/mock/callback":
                    finished[live.query_param("?" + access.query, "state")] = access.pid
                    assert access.status == 302 and urlsplit(access.location).path == "/"
            assert states <= started.keys() & finished.keys()
            if any(started[s] != finished[s] for s in finished):
                break
        crossed = [s for s in finished if started[s] != finished[s]]
        assert crossed, "no sign-in was started by one worker and finished by the other"
        assert len(set(started.values()) | set(finished.values())) == 2
        assert all(a.status < 500 for a in server.accesses())

    # Discovery is fetched once by each worker that started or finished a flow, the keys once
    # by each that finished one, however many sign-ins they served.
    assert idp.discovery_hits - discovery == len(set(started.values()) | set(finished.values()))
    assert idp.jwks_hits - keys == len(set(finished.values()))


def test_app_factory_entry_point_serves(tmp_path, idp):
    providers = tmp_path / "providers.toml"
    providers.write_text(idp.providers_toml())
    env = gunicorn_env(f"sqlite:///{tmp_path / 'unused.sqlite'}", providers)
    with live.run_gunicorn("microblog:create_app()", env, tmp_path / "gunicorn", workers=1) as g:
        page = requests.get(f"{g.url}/login", timeout=10)
        assert page.status_code == 200
        assert f"Sign in with {live.MOCK_TITLE}" in page.text


# --- Behind a reverse proxy: the callback URL is the public one, if and only if trusted. ---

FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "public.example",
             "X-Forwarded-For": "203.0.113.7"}  # fmt: skip


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("proxies", "callback"),
    [
        (1, "https://public.example/auth/google/callback"),
        (0, "http://localhost/auth/google/callback"),
    ],
)
def test_callback_url_behind_a_proxy(database_url, proxies, callback):
    app = create_app(base_config(database_url, TRUSTED_PROXIES=proxies))
    client = app.test_client()
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            idp = FakeIdP(app, rsps)
            login = client.get("/login", headers=FORWARDED)
            token = live.hidden_fields(login.get_data(as_text=True))["csrf_token"]
            # Over https, Flask-WTF also wants the Referer a browser sends: the public page.
            referer = {"Referer": "https://public.example/login"}
            form = {"csrf_token": token}
            started = client.post("/login/google", data=form, headers={**FORWARDED, **referer})
            location = started.headers["Location"]
            assert live.query_param(location, "redirect_uri") == callback
            # The token request repeats it, and the fake provider insists they match.
            done = client.get(idp.authorize(location), headers=FORWARDED)
        assert done.status_code == 302 and urlsplit(done.headers["Location"]).path == "/"
        session_cookie = next(c for c in done.headers.getlist("Set-Cookie") if "session=" in c)
        assert ("; Secure" in session_cookie) == (proxies == 1)
    finally:
        with app.app_context():
            db.engine.dispose()


def test_gunicorn_access_log_leaves_out_query_strings():
    from pathlib import Path

    settings = {}
    exec((Path(__file__).parents[1] / "gunicorn.conf.py").read_text(), settings)
    assert "%(U)s" in settings["access_log_format"]  # the path alone
    assert (
        "%(r)s" not in settings["access_log_format"]
        and "%(q)s" not in settings["access_log_format"]
    )
