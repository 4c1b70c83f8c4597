"""Drive complete sign-ins through the built-in dev provider and count what reaches it.

A sign-in is what a browser does: GET /login, POST /login/dev with the CSRF token, GET the
provider's authorize page, POST its form, GET the app's callback. The app itself then calls
the provider's token and userinfo endpoints (and, once per worker, discovery and keys).
gunicorn's access log records every request with its user agent: those under the provider's
path from our browser are the front channel, the others are the app's own calls.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests

from bench.server import Gunicorn, free_port

BROWSER_UA = "microblog-bench-browser"
PEOPLE = 8  # returning people: the first round creates their accounts
# A benchmark of sign-in throughput from one address, not of the limiter (which still runs).
NO_SIGNIN_LIMITS = {
    "MICROBLOG_SIGNIN_RATE_LIMIT": "1000000 per minute",
    "MICROBLOG_CALLBACK_RATE_LIMIT": "1000000 per minute",
}


class SignInFailed(Exception):
    pass


@dataclass
class Tally:
    """Provider requests seen in the access log, by caller and endpoint."""

    browser: Counter = field(default_factory=Counter)
    app: Counter = field(default_factory=Counter)

    def as_dict(self, per: int = 1) -> dict:
        per = max(per, 1)
        return {
            "browser": round(sum(self.browser.values()) / per, 2),
            "app": round(sum(self.app.values()) / per, 2),
            "app_by_endpoint": {k: round(v / per, 2) for k, v in sorted(self.app.items())},
            "browser_by_endpoint": {k: round(v / per, 2) for k, v in sorted(self.browser.items())},
        }


def sign_in(base: str, email: str, provider: str = "dev", check_home: bool = False) -> float:
    """Sign in as email through the whole flow; return the seconds it took."""
    started = time.perf_counter()
    with requests.Session() as s:
        s.headers["User-Agent"] = BROWSER_UA
        page = _expect(s.get(f"{base}/login", timeout=30), 200, "login page")
        form = _Forms.parse(page.text)
        start = _expect(
            s.post(
                f"{base}/login/{provider}",
                data={"csrf_token": form.inputs["csrf_token"]},
                allow_redirects=False,
                timeout=30,
            ),
            302,
            "start",
        )
        authorize_url = start.headers["Location"]
        page = _expect(s.get(authorize_url, timeout=30), 200, "provider's authorize page")
        form = _Forms.parse(page.text)
        data = {
            **form.inputs,
            "email": email,
            "name": email.partition("@")[0],
            "email_verified": "1",
            "action": "continue",
        }
        back = _expect(
            s.post(
                urljoin(authorize_url, form.action), data=data, allow_redirects=False, timeout=30
            ),
            302,
            "authorize",
        )
        done = _expect(
            s.get(back.headers["Location"], allow_redirects=False, timeout=30), 302, "callback"
        )
        if urlsplit(done.headers["Location"]).path != "/":
            raise SignInFailed(f"callback sent the browser to {done.headers['Location']}")
        if check_home:
            home = _expect(s.get(f"{base}/", allow_redirects=False, timeout=30), 200, "home")
            if "Sign out" not in home.text:
                raise SignInFailed("home page does not show a signed-in person")
    return time.perf_counter() - started


def run(
    base: str,
    access_log: Path,
    error_log: Path,
    threads: int,
    duration: float,
    prefix: str = "/dev-idp",
) -> dict:
    """First sign-in, warm-up until every worker has fetched discovery and keys, then load."""
    offset = _lines(access_log)
    first_seconds = sign_in(base, "bench-0@example.org", check_home=True)
    time.sleep(0.2)  # let gunicorn finish writing its access log
    first = tally(access_log, offset, prefix)

    # Each worker process fetches discovery and keys on its first sign-ins (its threads may
    # race to it): warm up until a whole round of sign-ins fetched neither.
    warm = {"signins": 0, "failures": 0, "rounds": 0}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        offset = _lines(access_log)
        ok, failed, _ = _load(base, threads, 2.0)
        warm["signins"] += ok
        warm["failures"] += failed
        warm["rounds"] += 1
        time.sleep(0.2)
        fetched = tally(access_log, offset, prefix).app
        if ok >= threads and not fetched["discovery"] and not fetched["jwks"]:
            break
    warmed = tally(access_log, 0, prefix).app

    time.sleep(0.2)
    offset = _lines(access_log)
    started = time.perf_counter()
    ok, failed, seconds = _load(base, threads, duration)
    elapsed = time.perf_counter() - started
    time.sleep(0.2)
    measured = tally(access_log, offset, prefix)
    return {
        "setup": f"built-in dev provider at {prefix}, served by the same gunicorn",
        "client_threads": threads,
        "first_signin": {"seconds": round(first_seconds, 3), **first.as_dict()},
        # Fetches over the whole run: once per worker, more when its threads raced to it.
        "warmup": {**warm, "discovery_fetches": warmed["discovery"], "key_fetches": warmed["jwks"]},
        "signins": ok,
        "failures": failed,
        "signins_per_s": round(ok / elapsed, 1),
        "p50_ms": round(statistics.median(seconds) * 1e3, 1) if seconds else None,
        "per_signin": measured.as_dict(ok),
        "failure_reasons": failure_reasons(error_log),
    }


def measure(args: argparse.Namespace, url: str, work: Path, env: dict[str, str]) -> dict:
    """Sign in through the built-in dev provider, served by a gunicorn of its own."""
    # The app calls its own provider (token, userinfo) while it serves a callback: a worker
    # whose threads all wait on callbacks cannot answer those calls (they time out). Each
    # browser holds at most two threads at once, so two threads per browser never run out.
    threads = 2 * args.signin_threads
    print(
        f"   sign-in: built-in dev provider, 2 workers x {threads} threads, --preload", flush=True
    )
    (work / "providers-dev.toml").write_text('[providers.dev]\npreset = "dev"\n')
    port = free_port()  # the issuer names the port, so choose it first
    server_env = {
        **env,
        **NO_SIGNIN_LIMITS,
        "DATABASE_URL": url,
        "MICROBLOG_ENV": "development",
        "MICROBLOG_PROVIDERS": str(work / "providers-dev.toml"),
        "DEV_IDP_ISSUER": f"http://127.0.0.1:{port}/dev-idp",
    }
    # --preload: the dev provider makes its signing key at start-up; one key for both workers.
    server = Gunicorn(
        "microblog:create_app()",
        server_env,
        work,
        "signin",
        threads=threads,
        preload=True,
        access_log=True,
        port=port,
    )
    with server:
        server.wait_ready("/login")
        result = run(
            server.url, server.access_log, server.error_log, args.signin_threads, args.duration
        )
        result["worker_rss_mb"] = server.worker_rss_mb()
        result["command"] = server.command
    print(
        f"   sign-in: {result['signins_per_s']}/s, provider requests per sign-in from the app: "
        f"{result['per_signin']['app']}",
        flush=True,
    )
    return result


def tally(access_log: Path, offset: int, prefix: str) -> Tally:
    """Count the provider requests logged after line `offset`."""
    counts = Tally()
    for line in access_log.read_text().splitlines()[offset:]:
        method, path, _status, agent = (line.split(" ", 3) + ["", "", ""])[:4]
        if not path.startswith(prefix + "/"):
            continue
        endpoint = path[len(prefix) + 1 :].removeprefix(".well-known/openid-configuration")
        name = endpoint or "discovery"
        if name == "authorize":  # the page (GET) and its form (POST)
            name = f"authorize {method}"
        (counts.browser if agent == BROWSER_UA else counts.app)[name] += 1
    return counts


def failure_reasons(error_log: Path) -> dict[str, int]:
    """Why sign-ins failed, from the app's warnings in gunicorn's error log (the whole run)."""
    reasons: Counter = Counter()
    for line in error_log.read_text(errors="replace").splitlines():
        if "sign-in with" in line and " failed: " in line:
            reasons[line.split(" failed: ", 1)[1][:200]] += 1
    return dict(reasons.most_common(5))


def _load(base: str, threads: int, duration: float) -> tuple[int, int, list[float]]:
    """Sign in from `threads` browsers at once for duration seconds."""
    deadline = time.monotonic() + duration
    results: list[float] = []
    failures = [0]
    lock = threading.Lock()

    def browser(n: int) -> None:
        i = 0
        while time.monotonic() < deadline:
            email = f"bench-{(n + i * threads) % PEOPLE}@example.org"
            i += 1
            try:
                took = sign_in(base, email)
            except (SignInFailed, requests.RequestException, KeyError) as exc:
                with lock:
                    failures[0] += 1
                    if failures[0] <= 3:
                        print(f"  sign-in failed: {type(exc).__name__}: {exc}", flush=True)
                continue
            with lock:
                results.append(took)

    pool = [threading.Thread(target=browser, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return len(results), failures[0], results


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _expect(response: requests.Response, status: int, step: str) -> requests.Response:
    if response.status_code != status:
        where = response.headers.get("Location", "")
        raise SignInFailed(f"{step}: HTTP {response.status_code} {where}".strip())
    return response


class _Forms(HTMLParser):
    """The first form's action, and every named input's value (last form wins)."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.inputs: dict[str, str] = {}

    @classmethod
    def parse(cls, html: str) -> _Forms:
        forms = cls()
        forms.feed(html)
        return forms

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if (
            tag == "form"
            and a.get("method", "").lower() == "post"
            and "logout" not in (a.get("action") or "")
        ):
            self.action = a.get("action") or ""
        elif (
            tag == "input" and a.get("name") and a.get("type") in ("hidden", None, "text", "email")
        ):
            self.inputs[a["name"] or ""] = a.get("value") or ""
