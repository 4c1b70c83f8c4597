"""What runs in the client namespace: browsers made of requests, and the load generator.

`python -m cluster.client sessions` reads its settings as JSON on stdin and prints JSON;
`python -m cluster.client load SPEC.json` writes one JSON line per request to the spec's `out`.
Every loop here is bounded in count and in time, and every request has a timeout.
"""

from __future__ import annotations

import functools
import json
import os
import random
import re
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import requests

TIMEOUT = 15  # seconds; more than the app's own bounded waits, so theirs show first
TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
NICK_RE = re.compile(r'<a href="/u/([^"/]+)">')
# Relative weights of what a person does next (a sign-in also signs out first).
DEFAULT_MIX = {"home": 4, "explore": 3, "profile": 2, "post": 2, "follow": 1, "signin": 0}


@dataclass
class Browser:
    """One person's browser on the site (through the load balancer)."""

    site: str
    idp: str
    ca: str
    sub: str = field(default_factory=lambda: f"rig-{uuid.uuid4().hex[:10]}")
    http: requests.Session = field(default_factory=requests.Session)
    token: str = ""
    nickname: str = ""

    def __post_init__(self) -> None:
        # Only the rig's CA, and no proxy: the environment's settings would win over ours.
        self.http.trust_env = False
        self.http.verify = self.ca
        # As a browser does on this site (Referrer-Policy: same-origin); over https Flask-WTF
        # refuses a form without it.
        self.http.headers["Referer"] = self.site + "/"

    def url(self, path: str) -> str:
        return urljoin(self.site, path)

    def remember_token(self, html: str) -> None:
        if match := TOKEN_RE.search(html):
            self.token = match.group(1)

    def sign_in(self) -> requests.Response:
        """Go through the whole flow at the provider; return the page it ends on."""
        claims = {"email": f"{self.sub}@example.org", "email_verified": True, "name": "Rig Person"}
        put = self.http.put(f"{self.idp}/users/{self.sub}", json=claims, timeout=TIMEOUT)
        put.raise_for_status()
        login = self.http.get(self.url("/login"), timeout=TIMEOUT)
        login.raise_for_status()
        self.remember_token(login.text)
        form = self.http.post(
            self.url("/login/mock"), data={"csrf_token": self.token}, timeout=TIMEOUT
        )
        form.raise_for_status()
        answer = self.http.post(
            form.url, data={"sub": self.sub}, allow_redirects=False, timeout=TIMEOUT
        )
        if answer.status_code != 302:
            raise RuntimeError(f"provider answered {answer.status_code}")
        home = self.http.get(answer.headers["Location"], timeout=TIMEOUT)
        home.raise_for_status()
        if match := NICK_RE.search(home.text):
            self.nickname = match.group(1)
        self.remember_token(home.text)
        return home

    def sign_out(self) -> requests.Response:
        return self.http.post(
            self.url("/logout"),
            data={"csrf_token": self.token},
            allow_redirects=False,
            timeout=TIMEOUT,
        )

    def post(self, body: str) -> requests.Response:
        return self.http.post(
            self.url("/"),
            data={"csrf_token": self.token, "body": body},
            allow_redirects=False,
            timeout=TIMEOUT,
        )

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)


def signed_in(response: requests.Response) -> bool:
    return response.status_code == 200 and 'action="/logout"' in response.text


def direct(host_url: str, path: str, cookie: str) -> requests.Response:
    """Ask one app host directly, as the load balancer would, with a captured cookie."""
    headers = {"Cookie": cookie, "X-Forwarded-Proto": "https", "X-Forwarded-For": "198.18.0.2"}
    return requests.get(host_url + path, headers=headers, allow_redirects=False, timeout=TIMEOUT)


# --- proof 1: sessions, sign-out and rate limits across hosts -------------------------------


def sessions(args: dict[str, Any]) -> dict[str, Any]:
    browser = Browser(args["site"], args["idp"], args["ca"])
    browser.sign_in()
    views = [browser.http.get(browser.url("/"), timeout=TIMEOUT) for _ in range(12)]
    cookie = browser.cookie_header()
    before = {name: signed_in(direct(url, "/", cookie)) for name, url in args["hosts"].items()}
    posts = [browser.post(f"rate {n} {browser.sub}") for n in range(12)]
    signed_out_at = time.time()
    out = browser.sign_out()
    # A page only the signed-in see: "/" is the public front page to a visitor.
    after = {name: direct(url, "/settings", cookie) for name, url in args["hosts"].items()}
    checked_in = time.time() - signed_out_at
    return {
        "views_signed_in": sum(signed_in(v) for v in views),
        "views": len(views),
        "view_hosts": sorted({v.headers.get("X-Served-By", "?") for v in views}),
        "direct_signed_in_before": before,
        "post_statuses": [p.status_code for p in posts],
        "post_hosts": sorted({p.headers.get("X-Served-By", "?") for p in posts}),
        "sign_out_status": out.status_code,
        "direct_after_sign_out": {
            n: [r.status_code, r.headers.get("Location", "")] for n, r in after.items()
        },
        "seconds_to_check_every_host": round(checked_in, 3),
    }


# --- the load generator ---------------------------------------------------------------------


@dataclass
class Load:
    spec: dict[str, Any]
    out: Any
    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: int = 0
    nicknames: list[str] = field(default_factory=list)

    def record(self, **row: Any) -> None:
        with self.lock:
            self.out.write(json.dumps(row) + "\n")

    def stopped(self) -> bool:
        """The rig asks for an early end by creating the spec's stop file."""
        return "stop" in self.spec and os.path.exists(self.spec["stop"])

    def take(self) -> bool:
        """Count one request against the spec's bound; False once it is reached."""
        with self.lock:
            if self.sent >= self.spec.get("max_requests", 100_000):
                return False
            self.sent += 1
            return True

    def timed(self, kind: str, call: Any, **extra: Any) -> requests.Response | None:
        started = time.time()
        try:
            response = call()
        except requests.RequestException as exc:
            self.record(
                t=started,
                dt=time.time() - started,
                kind=kind,
                status=0,
                error=type(exc).__name__,
                server="",
                **extra,
            )
            return None
        self.record(
            t=started,
            dt=time.time() - started,
            kind=kind,
            status=response.status_code,
            server=response.headers.get("X-Served-By", ""),
            **extra,
            **_outcome(kind, response, extra),
        )
        return response

    def user(self, number: int, deadline: float) -> None:
        spec = self.spec
        rng = random.Random(f"{spec.get('seed', 1)}-{number}")
        browser = Browser(spec["site"], spec["idp"], spec["ca"])
        interval = spec["users"] / spec["rate"]
        next_at = time.time() + rng.random() * interval
        mix = spec.get("mix", DEFAULT_MIX)
        kinds, weights = zip(*mix.items(), strict=True)
        signed = False
        posts = 0
        while time.time() < deadline:
            time.sleep(max(0.0, next_at - time.time()))
            next_at += interval
            if time.time() >= deadline or self.stopped() or not self.take():
                return
            kind = "signin" if not signed else rng.choices(kinds, weights)[0]
            if kind == "signin":
                if signed:
                    self.timed("signout", browser.sign_out)
                signed = self._sign_in(browser)
            elif kind == "post":
                posts += 1
                body = f"load {spec.get('run', 'x')} {browser.sub} {posts}"
                self.timed("post", functools.partial(browser.post, body), body=body)
            else:
                nick = rng.choice(self.nicknames or [browser.nickname])
                self.view(browser, kind, nick)

    def view(self, browser: Browser, kind: str, nick: str) -> None:
        """Open a page (or press Follow) as this person, remembering the form token it has."""
        get = functools.partial(browser.http.get, allow_redirects=False, timeout=TIMEOUT)
        if kind == "home":
            if page := self.timed("home", functools.partial(get, browser.url("/"))):
                browser.remember_token(page.text)
        elif kind == "explore":
            self.timed("explore", functools.partial(get, browser.url("/explore")))
        elif kind == "profile":
            self.timed("profile", functools.partial(get, browser.url(f"/u/{nick}")))
        elif kind == "follow":
            follow = functools.partial(
                browser.http.post,
                browser.url(f"/u/{nick}/follow"),
                data={"csrf_token": browser.token},
                allow_redirects=False,
                timeout=TIMEOUT,
            )
            self.timed("follow", follow)

    def _sign_in(self, browser: Browser) -> bool:
        started = time.time()
        try:
            page = browser.sign_in()
        except (requests.RequestException, RuntimeError) as exc:
            self.record(
                t=started,
                dt=time.time() - started,
                kind="signin",
                status=0,
                error=f"{type(exc).__name__}: {exc}"[:200],
                server="",
            )
            return False
        ok = signed_in(page)
        self.record(
            t=started,
            dt=time.time() - started,
            kind="signin",
            status=page.status_code if ok else 0,
            server=page.headers.get("X-Served-By", ""),
            error="" if ok else "not signed in",
        )
        if ok:
            with self.lock:
                self.nicknames.append(browser.nickname)
        return ok


def _outcome(kind: str, response: requests.Response, extra: dict[str, Any]) -> dict[str, Any]:
    """What the answer told the person: a post kept on an error page, a lost session."""
    result: dict[str, Any] = {}
    if kind == "post" and response.status_code >= 400:
        result["kept"] = extra["body"] in response.text
    if kind == "home" and response.status_code == 302:
        result["error"] = "signed out"
    return result


def load(spec_path: str) -> None:
    spec = json.loads(open(spec_path).read())
    deadline = time.time() + spec["duration"]
    with open(spec["out"], "w") as out:
        runner = Load(spec, out)
        threads = [
            threading.Thread(target=runner.user, args=(n, deadline), daemon=True)
            for n in range(spec["users"])
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(spec["duration"] + TIMEOUT * 3)
    print(json.dumps({"requests": runner.sent}), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "load":
        load(sys.argv[2])
    else:
        print(json.dumps(globals()[sys.argv[1]](json.loads(sys.stdin.read()))))
