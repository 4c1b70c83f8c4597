"""Real servers for tests: the app and oidc-provider-mock on loopback, gunicorn, a requests browser.

Each piece is a context manager that cleans up after itself; test modules wrap them in the
fixtures they need (usually module-scoped servers and a fresh app per test).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from authlib.deprecate import AuthlibDeprecationWarning
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.helpers import hidden_fields

with warnings.catch_warnings():
    # oidc-provider-mock imports the deprecated `authlib.jose` at import time; nothing we can
    # change from here, and it is the independent provider these tests exist to talk to.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    import oidc_provider_mock

ROOT = Path(__file__).resolve().parents[1]
MOCK_PROVIDER = "mock"
MOCK_TITLE = "Mock OIDC"
MOCK_CLIENT_ID = "microblog-interop"
MOCK_CLIENT_SECRET = "interop-secret"
#: For modules that talk to oidc-provider-mock: its token endpoint calls an Authlib API that
#: Authlib deprecates, and the warning is raised in its server thread, inside our process.
MOCK_WARNINGS = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")


# --- A WSGI app on a loopback port ------------------------------------------------------------


# Where LiveServer keeps each request's response body, in that request's WSGI environ.
BODY_KEY = "tests.live.body"


class ClosingRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler, closing the response body however the request ended.

    When a client drops the connection mid-response, Werkzeug's handler can raise on the dead
    socket before it closes the body: a static file stays open until the garbage collector
    finds it, and its ResourceWarning then fails whichever test is running.
    """

    def run_wsgi(self) -> None:
        try:
            super().run_wsgi()
        finally:
            environ = getattr(self, "environ", None) or {}
            if (body := environ.pop(BODY_KEY, None)) is not None:
                body.close()


class _Body:
    """A response body that passes on the first close() only (Werkzeug may close it too)."""

    def __init__(self, body: Iterable[bytes]):
        self._body = body
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if hasattr(self._body, "close"):
                self._body.close()


class LiveServer:
    """A threaded Werkzeug server on 127.0.0.1 and a free port, serving whatever `app` is now.

    The port is known before the app exists, so an app whose settings need its own address
    (the development provider's issuer) can be built afterwards and swapped in per test.
    """

    def __init__(self, app: Any = None):
        self.app = app
        self._server = make_server(
            "127.0.0.1", 0, self._dispatch, threaded=True, request_handler=ClosingRequestHandler
        )
        self.port: int = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _dispatch(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.app is not None, "LiveServer.app is not set"
        body = environ[BODY_KEY] = _Body(self.app(environ, start_response))
        return body

    def __enter__(self) -> LiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join(5)
        self._server.server_close()


# --- oidc-provider-mock -----------------------------------------------------------------------


@dataclass
class MockIdP:
    """oidc-provider-mock on loopback, counting by path the requests that reach it."""

    url: str
    hits: Counter[str] = field(default_factory=Counter)

    @property
    def issuer(self) -> str:
        return self.url  # the mock's issuer is http:// + the Host header

    @property
    def discovery_hits(self) -> int:
        return self.hits["/.well-known/openid-configuration"]

    @property
    def jwks_hits(self) -> int:
        return self.hits["/jwks"]

    def new_person(
        self, email: str | None = None, verified: bool = True, name: str = "Ann Example"
    ) -> str:
        """Register someone at the provider; return their subject, to choose at its form."""
        sub = f"sub-{uuid.uuid4().hex[:12]}"
        self.set_claims(
            sub, email=email or f"{sub}@example.org", email_verified=verified, name=name
        )
        return sub

    def set_claims(self, sub: str, **claims: Any) -> None:
        response = requests.put(f"{self.url}/users/{sub}", json=claims, timeout=10)
        assert response.status_code == 204, response.text

    def providers_toml(self, dev: bool = False) -> str:
        """A providers.toml with this provider (and the development one, if asked)."""
        text = (
            f"[providers.{MOCK_PROVIDER}]\n"
            f'title = "{MOCK_TITLE}"\n'
            f'issuer = "{self.issuer}"\n'
            f'client_id = "{MOCK_CLIENT_ID}"\n'
            f'client_secret = "{MOCK_CLIENT_SECRET}"\n'
        )
        return text + ('\n[providers.dev]\npreset = "dev"\n' if dev else "")


@contextmanager
def run_mock_idp() -> Iterator[MockIdP]:
    """Start oidc-provider-mock in a thread on a free loopback port."""
    provider_app = oidc_provider_mock.app()
    idp = MockIdP(url="")
    lock = threading.Lock()

    def counting(environ: dict[str, Any], start_response: Any) -> Any:
        with lock:
            idp.hits[environ.get("PATH_INFO", "")] += 1
        return provider_app(environ, start_response)

    with LiveServer(counting) as server:
        idp.url = server.url
        yield idp


# --- A browser made of requests.Session -------------------------------------------------------


class Visitor:
    """One person's browser on the site: a requests.Session that follows real redirects."""

    def __init__(self, site_url: str):
        self.site_url = site_url
        self.http = requests.Session()

    def __enter__(self) -> Visitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(urljoin(self.site_url, path), timeout=30, **kwargs)

    def post_form(self, path: str, page: requests.Response, **data: str) -> requests.Response:
        """Submit a form of `page` (its hidden fields, CSRF token included) with `data`."""
        form = {**hidden_fields(page.text), **data}
        return self.http.post(urljoin(self.site_url, path), data=form, timeout=30)

    def start(
        self, provider: str = MOCK_PROVIDER, remember: bool = False, next: str | None = None,
        login_page: requests.Response | None = None,
    ) -> requests.Response:  # fmt: skip
        """Press "Sign in with ..." on the login page; return the provider's page it leads to."""
        login_page = login_page or self.get("/login")
        assert login_page.status_code == 200, login_page.status_code
        form = hidden_fields(login_page.text)
        if next is not None:
            form["next"] = next
        if remember:
            form["remember_me"] = "1"
        return self.http.post(f"{self.site_url}/login/{provider}", data=form, timeout=30)

    def consent(self, provider_page: requests.Response, sub: str) -> str:
        """Choose `sub` on oidc-provider-mock's form; return the callback URL it redirects to."""
        answer = self.http.post(
            provider_page.url, data={"sub": sub}, allow_redirects=False, timeout=30
        )
        assert answer.status_code == 302, (answer.status_code, answer.text[:500])
        return answer.headers["Location"]

    def deny(self, provider_page: requests.Response) -> requests.Response:
        """Press "Deny" on oidc-provider-mock's form; follow where it leads."""
        return self.http.post(provider_page.url, data={"action": "deny"}, timeout=30)

    def finish(self, callback_url: str) -> requests.Response:
        """Arrive back at the site's callback and follow its redirects."""
        return self.http.get(callback_url, timeout=30)

    def sign_in(
        self, sub: str, remember: bool = False, next: str | None = None
    ) -> requests.Response:
        """Go through the whole flow at oidc-provider-mock; return the page it ends on."""
        provider_page = self.start(remember=remember, next=next)
        assert provider_page.status_code == 200, provider_page.text[:500]
        return self.finish(self.consent(provider_page, sub))

    def path(self, response: requests.Response) -> str:
        return urlsplit(response.url).path


def statuses(response: requests.Response) -> list[int]:
    """Every status on the way to `response`, redirects included."""
    return [r.status_code for r in [*response.history, response]]


def query_param(url: str, name: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get(name)
    return values[0] if values else None


def file_name(text: str) -> str:
    """`text` as one file name: a page path or a test id never makes a folder of its own."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "-"


def save_screenshots(output: Path, test_id: str, shots: list[tuple[str, bytes]]) -> Path:
    """Write a failed test's screenshots, in the order taken, to one folder under `output`."""
    folder = output / file_name(test_id)
    folder.mkdir(parents=True, exist_ok=True)
    for i, (name, png) in enumerate(shots, 1):
        (folder / f"{i:02d}-{file_name(name)}.png").write_bytes(png)
    return folder


# --- gunicorn ---------------------------------------------------------------------------------

# One tab-separated line per request: worker pid, method, path, query, status, Location.
ACCESS_LOG_FORMAT = "\t".join(["%(p)s", "%(m)s", "%(U)s", "%(q)s", "%(s)s", "%({location}o)s"])


@dataclass(frozen=True)
class Access:
    """One request as gunicorn's access log recorded it."""

    pid: str
    method: str
    path: str
    query: str
    status: int
    location: str


@dataclass
class Gunicorn:
    """A running gunicorn, its address and its logs."""

    process: subprocess.Popen[bytes]
    url: str
    access_log: Path
    error_log: Path

    def accesses(self, until: Callable[[list[Access]], bool] | None = None) -> list[Access]:
        """Read the access log; with `until`, wait (10 s at most) for the lines it expects.

        A worker writes its access line after it has sent the response, so a client can read
        the log before the line of the request it just finished is there.
        """
        deadline = time.monotonic() + 10
        while True:
            text = self.access_log.read_text()
            lines = text.splitlines()[: text.count("\n")]  # complete lines only
            accesses = [
                Access(pid, method, path, query, int(status), location)
                for pid, method, path, query, status, location in (
                    line.split("\t") for line in lines
                )
            ]
            if until is None or until(accesses) or time.monotonic() > deadline:
                return accesses
            time.sleep(0.05)

    def worker_pids(self) -> set[str]:
        return set(re.findall(r"Booting worker with pid: (\d+)", self.error_log.read_text()))


@contextmanager
def run_gunicorn(
    app_spec: str, env: dict[str, str], logs: Path, workers: int = 2, timeout: float = 30
) -> Iterator[Gunicorn]:
    """Start `gunicorn app_spec` on a free loopback port from the repository root; stop it after."""
    logs.mkdir(parents=True, exist_ok=True)
    access_log, error_log = logs / "access.log", logs / "error.log"
    command = [
        sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0", "--workers", str(workers),
        "--no-control-socket", "--access-logfile", str(access_log),
        "--access-logformat", ACCESS_LOG_FORMAT, "--error-logfile", str(error_log),
        "--log-level", "info", "--graceful-timeout", "5", app_spec,
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = _wait_for_gunicorn(process, error_log, access_log, workers, timeout)
        yield Gunicorn(process, url, access_log, error_log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _wait_for_gunicorn(
    process: subprocess.Popen[bytes], error_log: Path, access_log: Path, workers: int,
    timeout: float,
) -> str:  # fmt: skip
    """Return gunicorn's URL once every worker has loaded the app and answers."""
    deadline = time.monotonic() + timeout
    url = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{_read(error_log)}")
        log = _read(error_log)
        if url is None and (match := re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log)):
            url = match.group(1)
        if url and len(re.findall(r"Booting worker with pid", log)) >= workers:
            # Each worker loads the app after it boots and only then accepts: knock with a few
            # requests at once (a busy sync worker leaves the next one to another) until every
            # worker has answered one.
            with ThreadPoolExecutor(workers * 2) as pool:
                list(pool.map(_knock, [url] * workers * 2))
            if len({a.split("\t")[0] for a in _read(access_log).splitlines()}) >= workers:
                return url
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not start within {timeout} s:\n{_read(error_log)}")


def _knock(url: str) -> None:
    """Ask once; a worker still loading the app (slow on a busy machine) is asked again later."""
    try:
        requests.get(f"{url}/login", timeout=5)
    except (requests.ConnectionError, requests.Timeout):
        pass


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


def clean_env(**settings: str) -> dict[str, str]:
    """The environment for a server process: ours, minus any microblog settings, plus these."""
    prefixes = ("MICROBLOG_", "DATABASE_URL", "SECRET_KEY", "DEV_IDP_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return {**env, **settings}
