"""Proofs 1b and 1c of issue 14: a session ended anywhere is refused on every host at once.

1b ends sessions from Settings (one, everywhere else, everywhere); 1c has the provider post a
Back-Channel Logout token to one host. The client side is cluster.client_logout.
"""

from __future__ import annotations

from typing import Any

from .proofs import Proof
from .rig import Rig

MODULE = "cluster.client_logout"


def _refused_everywhere(refused: dict[str, dict[str, Any]], hosts: int) -> bool:
    """Every browser ended is refused on every host, each on its first try."""
    return all(
        len(per_host) == hosts and all(h["after_s"] is not None for h in per_host.values())
        for per_host in refused.values()
    )


def _at_once(refused: dict[str, dict[str, Any]]) -> bool:
    return all(h["tries"] == 1 for per_host in refused.values() for h in per_host.values())


def _slowest(refused: dict[str, dict[str, Any]]) -> float | None:
    """Seconds from the ending's answer until the last host refused the last browser."""
    times = [h["after_s"] for per_host in refused.values() for h in per_host.values()]
    return None if None in times else max(times, default=0.0)


def settings_endings(rig: Rig) -> Proof:
    proof = Proof("1b Settings' sign-outs take effect on every host at once")
    r = rig.run_client("settings_endings", module=MODULE)
    proof.checks["five browsers (two people) signed in on every host"] = all(
        r["signed_in_before"].values()
    )
    steps = {
        "sign out one session": r["sign_out_one"],
        "sign out everywhere else": r["sign_out_everywhere_else"],
        "sign out everywhere": r["sign_out_everywhere"],
    }
    for label, step in steps.items():
        key = label.replace(" ", "_")
        proof.figures[f"{key}_asked_of"] = step["served_by"]
        proof.figures[f"{key}_refused_after_s"] = _slowest(step["refused"])
        proof.checks[f"{label}: answered with a redirect"] = step["status"] == 302
        proof.checks[f"{label}: ended sessions refused on every host"] = _refused_everywhere(
            step["refused"], rig.apps
        )
        proof.checks[f"{label}: refused at once (first request to each host)"] = _at_once(
            step["refused"]
        )
        proof.checks[f"{label}: the other sessions still work on every host"] = all(
            step["still_signed_in"].values()
        )
    return proof


def backchannel(rig: Rig) -> Proof:
    proof = Proof("1c a back-channel logout at one host takes effect on every host at once")
    r = rig.run_client("backchannel", module=MODULE)
    logout = r["logout"]
    proof.figures.update(
        logout_answer=logout["status"],
        posted_through_balancer_to=logout["server"],
        provider_post_took_s=r["seconds_from_send_to_answer"],
        every_host_refused_after_s=_slowest(r["refused"]),
        replayed_token_statuses=r["replay_statuses"],
    )
    proof.checks["two browsers of the person and a stranger signed in on every host"] = all(
        r["signed_in_before"].values()
    )
    proof.checks["the logout token was taken: 200, no-store, no cookie set"] = (
        logout["status"] == 200
        and "no-store" in logout["cache_control"]
        and not logout["set_cookie"]
    )
    proof.checks["both of the person's sessions refused on every host"] = _refused_everywhere(
        r["refused"], rig.apps
    )
    proof.checks["refused at once (first request to each host)"] = _at_once(r["refused"])
    proof.checks["the stranger is still signed in on every host"] = all(
        r["still_signed_in"].values()
    )
    proof.checks["the same token again is refused by every host (its jti is shared)"] = (
        list(r["replay_statuses"].values()) == [400] * rig.apps
    )
    return proof


ALL = [settings_endings, backchannel]
