"""The client side of proofs 1b and 1c: sessions ended from Settings, and by the provider.

`python -m cluster.client_logout SCENARIO` reads its settings as JSON on stdin and prints JSON.
Each ending is asked of one host (through the load balancer); then every app host is asked
directly, with each browser's captured cookies, until it refuses them (bounded). A host that
refuses on its first try refused "at once": nothing is cached per host or per worker.
"""

from __future__ import annotations

import json
import re
import sys
import time
from typing import Any

import requests

from .client import TIMEOUT, Browser, direct

OWN_SESSION_RE = re.compile(r'aria-current="true".*?/settings/sessions/(\d+)/end', re.S)
PATIENCE = 10.0  # seconds a host may take to refuse an ended session before it counts as not


def refused(response: requests.Response) -> bool:
    """A page only the signed-in see sends this cookie to sign in: the session is over."""
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def works(host_url: str, cookie: str) -> bool:
    return direct(host_url, "/settings", cookie).status_code == 200


def until_refused(hosts: dict[str, str], cookie: str, since: float) -> dict[str, Any]:
    """Ask each host until it refuses the cookie: seconds since `since`, and tries, per host."""
    seen: dict[str, Any] = {}
    for name, url in hosts.items():
        tries = 0
        while True:
            tries += 1
            if refused(direct(url, "/settings", cookie)):
                seen[name] = {"after_s": round(time.time() - since, 3), "tries": tries}
                break
            if time.time() - since > PATIENCE:
                seen[name] = {"after_s": None, "tries": tries}
                break
            time.sleep(0.05)
    return seen


def still_working(hosts: dict[str, str], browsers: dict[str, Browser]) -> dict[str, bool]:
    """Whether each browser named is still signed in on every host."""
    return {
        who: all(works(url, b.cookie_header()) for url in hosts.values())
        for who, b in browsers.items()
    }


def own_session_id(browser: Browser) -> str:
    """This browser's session record id, read from its own Settings page."""
    page = browser.http.get(browser.url("/settings"), timeout=TIMEOUT)
    page.raise_for_status()
    browser.remember_token(page.text)
    match = OWN_SESSION_RE.search(page.text)
    if match is None:
        raise RuntimeError("Settings does not list this browser's session")
    return match.group(1)


def press(browser: Browser, path: str, **form: str) -> requests.Response:
    """Press a button of Settings (a CSRF-checked POST) through the load balancer."""
    data = {"csrf_token": browser.token, **form}
    return browser.http.post(browser.url(path), data=data, allow_redirects=False, timeout=TIMEOUT)


def signed_in_browsers(args: dict[str, Any], names: str, sub: str) -> dict[str, Browser]:
    """One signed-in browser per letter of names, all the same person `sub`."""
    found = {}
    for name in names:
        found[name] = Browser(args["site"], args["idp"], args["ca"], sub=sub)
        found[name].sign_in()
    return found


def ending(
    hosts: dict[str, str],
    answer: requests.Response,
    ended: dict[str, Browser],
    kept: dict[str, Browser],
) -> dict[str, Any]:
    """What every host says after one ending: the ended refused (how soon), the kept working."""
    at = time.time()
    return {
        "status": answer.status_code,
        "served_by": answer.headers.get("X-Served-By", "?"),
        "refused": {who: until_refused(hosts, b.cookie_header(), at) for who, b in ended.items()},
        "still_signed_in": still_working(hosts, kept),
    }


# --- proof 1b: Settings' "Sign out" per session, "everywhere else", "everywhere" -------------


def settings_endings(args: dict[str, Any]) -> dict[str, Any]:
    hosts = args["hosts"]
    a = Browser(args["site"], args["idp"], args["ca"])
    a.sign_in()
    others = signed_in_browsers(args, "bcd", a.sub)
    stranger = Browser(args["site"], args["idp"], args["ca"])  # another person: never ended
    stranger.sign_in()
    everyone = {"a": a, **others, "stranger": stranger}
    before = still_working(hosts, everyone)
    b_id = own_session_id(others["b"])
    own_session_id(a)  # a fresh form token from the page the buttons are on
    one = press(a, f"/settings/sessions/{b_id}/end")
    result_one = ending(
        hosts, one, {"b": others["b"]}, {"a": a, "c": others["c"], "stranger": stranger}
    )
    own_session_id(a)
    rest = press(a, "/settings/sessions/end-others")
    kept = {"a": a, "stranger": stranger}
    result_rest = ending(hosts, rest, {"c": others["c"], "d": others["d"]}, kept)
    e = signed_in_browsers(args, "e", a.sub)["e"]  # one more, so "everywhere" ends two
    own_session_id(a)
    every = press(a, "/logout", everywhere="1")
    result_every = ending(hosts, every, {"a": a, "e": e}, {"stranger": stranger})
    return {
        "signed_in_before": before,
        "sign_out_one": result_one,
        "sign_out_everywhere_else": result_rest,
        "sign_out_everywhere": result_every,
    }


# --- proof 1c: Back-Channel Logout 1.0, the provider's logout token at one host ---------------


def backchannel(args: dict[str, Any]) -> dict[str, Any]:
    hosts = args["hosts"]
    browsers = signed_in_browsers(args, "ab", f"rig-bc-{time.time_ns()}")
    stranger = Browser(args["site"], args["idp"], args["ca"])
    stranger.sign_in()
    before = still_working(hosts, {**browsers, "stranger": stranger})
    endpoint = f"/auth/{args['provider']}/backchannel-logout"
    ask = {"sub": browsers["a"].sub, "aud": args["client_id"], "to": [args["site"] + endpoint]}
    sent = provider_sends(args, ask)
    answer = sent["answers"][0]
    at = answer["answered"]
    refusals = {who: until_refused(hosts, b.cookie_header(), at) for who, b in browsers.items()}
    kept = still_working(hosts, {"stranger": stranger})
    # The same token again, to every host directly: its jti is spent for all of them.
    replay = {"token": sent["token"], "to": [url + endpoint for url in hosts.values()]}
    replayed = provider_sends(args, replay)["answers"]
    return {
        "signed_in_before": before,
        "logout": {k: answer[k] for k in ("status", "server", "cache_control", "set_cookie")},
        "seconds_from_send_to_answer": round(answer["answered"] - answer["sent"], 3),
        "refused": refusals,
        "still_signed_in": kept,
        "replay_statuses": {name: r["status"] for name, r in zip(hosts, replayed, strict=True)},
    }


def provider_sends(args: dict[str, Any], ask: dict[str, Any]) -> dict[str, Any]:
    """Have the rig's provider post a logout token (see cluster.idp); return what it saw."""
    http = requests.Session()
    http.trust_env = False
    answer = http.post(
        f"{args['idp']}/rig/backchannel-logout", json=ask, verify=args["ca"], timeout=TIMEOUT * 4
    )
    answer.raise_for_status()
    found: dict[str, Any] = answer.json()
    return found


if __name__ == "__main__":
    print(json.dumps(globals()[sys.argv[1]](json.loads(sys.stdin.read()))))
