"""The seven proofs of issue 14, each run on a live rig; each returns its figures and verdicts.

A proof never raises for a failed claim: it returns `Proof(checks={claim: bool}, figures=...)`, so
that `make cluster` can print every row and the tests can assert every claim with its figures.
"""

from __future__ import annotations

import json
import signal
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .netns import ip, wait_for
from .rig import Rig, rss_kib

# haproxy.cfg: checks every 1 s (inter), each allowed 2 s (timeout check), 2 failures (fall)
# take a server out: at most 2 x (1 + 2) s, plus a second of slack.
DETECT_BOUND = 2 * (1 + 2) + 1.0
# A request to a host cut off its database fails within the DB connect/TCP timeouts (2 s).
FAIL_FAST_BOUND = 6.0
RECOVER_BOUND = 5.0
# After a fault is over, the load runs on this long (each of 3 hosts gets ~16 requests), then
# stops: what it shows is in by then.
SERVE_AFTER_REJOIN = 4.0


@dataclass
class Proof:
    name: str
    checks: dict[str, bool] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(self.checks.values())

    def report(self) -> str:
        lines = [f"== {self.name}: {'PASS' if self.passed else 'FAIL'}"]
        lines += [f"   {k}: {v}" for k, v in self.figures.items()]
        lines += [f"   [{'ok' if ok else 'FAILED'}] {claim}" for claim, ok in self.checks.items()]
        return "\n".join(lines)


# --- reading the load generator's records ---------------------------------------------------


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def failed(r: dict[str, Any]) -> bool:
    """No answer, a server error, or a page that lost the person's session."""
    return r["status"] == 0 or r["status"] >= 500 or r.get("error") == "signed out"


def p99(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def lost_posts(rig: Rig, records: list[dict[str, Any]], run: str) -> tuple[int, int]:
    """Count the posts answered with success, and how many of them the database lacks."""
    confirmed = {r["body"] for r in records if r["kind"] == "post" and r["status"] == 302}
    stored = {row[0] for row in rig.sql(f"SELECT body FROM post WHERE body LIKE 'load {run} %'")}
    return len(confirmed), len(confirmed - stored)


def told(r: dict[str, Any]) -> bool:
    """The person got an answer saying it failed (not a hang that ran out the clock)."""
    return r["status"] != 0 or "Timeout" not in r.get("error", "")


def run_load(rig: Rig, run: str, duration: float, **spec: Any) -> tuple[Any, Path]:
    spec = {"users": 6, "rate": 12, "run": run, "duration": duration, **spec}
    spec.setdefault("max_requests", int(spec["rate"] * duration * 1.2) + 50)
    return rig.start_load(run, **spec)


def finish(process: Any, out: Path, timeout: float) -> list[dict[str, Any]]:
    process.popen.wait(timeout)
    return read(out)


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def common(proof: Proof, rig: Rig, records: list[dict[str, Any]], run: str) -> None:
    confirmed, lost = lost_posts(rig, records, run)
    failures = [r for r in records if failed(r)]
    proof.figures.update(
        requests=len(records),
        failed=len(failures),
        statuses=_counts(r["status"] for r in records),
        posts_confirmed=confirmed,
        confirmed_posts_missing=lost,
    )
    proof.checks["every confirmed post is in the database"] = lost == 0
    proof.checks["every failed request was told so (no hang)"] = all(told(r) for r in failures)
    proof.checks["no 500 (a bug) anywhere"] = not any(r["status"] == 500 for r in records)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _describe(r: dict[str, Any], moment: float) -> str:
    """One failed request, its start and end relative to `moment` (a fault)."""
    start, end = r["t"] - moment, r["t"] + r["dt"] - moment
    what = r.get("error") or r["status"]
    return f"{r['kind']} {what} on {r['server'] or '?'} from {start:+.2f} s to {end:+.2f} s"


def _counts(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in values:
        counts[str(v)] = counts.get(str(v), 0) + 1
    return dict(sorted(counts.items()))


# --- 1: one session, any host -----------------------------------------------------------------


def sessions(rig: Rig) -> Proof:
    proof = Proof("1 sessions, sign-out and rate limits across hosts")
    r = rig.run_client("sessions")
    statuses = r["post_statuses"]
    proof.figures.update(
        views_signed_in=f"{r['views_signed_in']}/{r['views']}",
        view_hosts=r["view_hosts"],
        direct_before=r["direct_signed_in_before"],
        posts=statuses,
        post_hosts=r["post_hosts"],
        after_sign_out=r["direct_after_sign_out"],
        seconds_to_check_every_host=r["seconds_to_check_every_host"],
    )
    proof.checks["every view through the balancer was signed in"] = (
        r["views_signed_in"] == r["views"]
    )
    proof.checks["views reached every host"] = len(r["view_hosts"]) == rig.apps
    proof.checks["the cookie works on each host directly"] = all(
        r["direct_signed_in_before"].values()
    )
    proof.checks["one shared limit: 10 posts/min across hosts, then 429"] = (
        statuses == [302] * 10 + [429] * 2 and len(r["post_hosts"]) > 1
    )
    proof.checks["after sign-out the old cookie is refused on every host"] = all(
        s == 302 and loc.startswith("/login") for s, loc in r["direct_after_sign_out"].values()
    )
    return proof


# --- 2: kill an app host ------------------------------------------------------------------------


def kill_host(rig: Rig, duration: float = 40) -> Proof:
    proof = Proof("2 SIGKILL an app host under load")
    host = rig.hosts[0]
    process, out = run_load(rig, "kill", duration)
    start = time.time()
    sleep_until(start + duration / 5)
    killed_at = time.time()
    assert host.process is not None
    doomed = [host.process.pid, *rig.worker_pids(host)]
    host.process.signal_group(signal.SIGKILL)  # master and workers at once
    host.process.popen.wait(10)
    # The signal is sent now, but a worker may still take a request before the kernel
    # ends it: "in flight" runs until the last of them is gone.
    wait_for(
        "killed",
        lambda: not any(Path(f"/proc/{pid}/stat").exists() and not _zombie(pid) for pid in doomed),
        10,
        0.01,
    )
    dead_at = time.time()
    wait_for("marked down", lambda: rig.status(host.name).startswith("DOWN"), 20, 0.05)
    down_at = time.time()
    down_after = down_at - killed_at
    time.sleep(1)  # down for a while, then back: booting takes seconds under load
    restarted_at = time.time()
    rig.start_app(host)
    wait_for("rejoins", lambda: rig.status(host.name) == "UP", 30, 0.05)
    rejoined_at = time.time()
    time.sleep(SERVE_AFTER_REJOIN)  # long enough to see it serve again, then end the run early
    out.with_suffix(".stop").touch()
    records = finish(process, out, duration + 60)
    failures = [r for r in records if failed(r)]
    in_flight = [r for r in failures if r["t"] <= dead_at and r["t"] + r["dt"] >= killed_at]
    sent_to_dead = [
        r for r in records if r["server"] == host.name and down_at < r["t"] < restarted_at
    ]
    served_after = [r for r in records if r["server"] == host.name and r["t"] > rejoined_at]
    common(proof, rig, records, "kill")
    proof.figures.update(
        killed_in_s=round(dead_at - killed_at, 3),
        failed_in_flight_at_kill=len(in_flight),
        failures_from_kill=[_describe(r, killed_at) for r in failures[:5]],
        marked_down_after_s=round(down_after, 2),
        back_up_after_restart_s=round(rejoined_at - restarted_at, 2),
        served_by_it_after_rejoin=len(served_after),
    )
    proof.checks["only requests in flight on the killed host failed"] = len(in_flight) == len(
        failures
    )
    proof.checks[f"out of the pool within {DETECT_BOUND} s"] = down_after <= DETECT_BOUND
    proof.checks["nothing sent to it while down"] = not sent_to_dead
    proof.checks["it rejoins and serves again"] = len(served_after) > 0
    return proof


# --- 3: restart PostgreSQL ----------------------------------------------------------------------


def restart_postgres(rig: Rig, duration: float = 30, outage: float = 4) -> Proof:
    proof = Proof("3 restart PostgreSQL under load")
    process, out = run_load(rig, "pg", duration)
    start = time.time()
    sleep_until(start + duration / 4)
    stopped_at = time.time()
    rig.stop_postgres()
    time.sleep(outage)
    rig.start_postgres()
    up_at = time.time()
    sleep_until(up_at + RECOVER_BOUND + SERVE_AFTER_REJOIN + 1)  # recovered, and seen serving
    out.with_suffix(".stop").touch()
    records = finish(process, out, duration + 60)
    failures = [r for r in records if failed(r)]
    outage_posts = [r for r in records if r["kind"] == "post" and r["status"] == 503]
    late = [r["t"] + r["dt"] - up_at for r in failures if r["t"] + r["dt"] > up_at]
    recovered_after = max(late, default=0.0)
    after = [r for r in records if r["t"] > up_at + recovered_after]
    common(proof, rig, records, "pg")
    proof.figures.update(
        outage_s=round(up_at - stopped_at, 2),
        answered_503=sum(r["status"] == 503 for r in records),
        posts_503_with_text_kept=f"{sum(bool(r.get('kept')) for r in outage_posts)}"
        f"/{len(outage_posts)}",
        every_host_serving_again_after_s=round(recovered_after, 2),
        hosts_serving_after=sorted({r["server"] for r in after if not failed(r)}),
    )
    proof.checks["failures are 503 pages, nothing else"] = all(r["status"] == 503 for r in failures)
    proof.checks["posts refused during the outage kept their text"] = all(
        r.get("kept") for r in outage_posts
    )
    proof.checks[f"all hosts serve again within {RECOVER_BOUND} s, no restart"] = (
        recovered_after <= RECOVER_BOUND and len({r["server"] for r in after}) == rig.apps
    )
    return proof


# --- 4: stop Redis ------------------------------------------------------------------------------


def stop_redis(rig: Rig, duration: float = 20) -> Proof:
    proof = Proof("4 stop Redis under load")
    logs_before = _fallback_warnings(rig)
    process, out = run_load(rig, "redis", duration)
    start = time.time()
    sleep_until(start + duration * 0.3)
    rig.stop_redis()
    sleep_until(start + duration * 0.7)
    rig.start_redis()
    records = finish(process, out, duration + 60)
    common(proof, rig, records, "redis")
    proof.figures["fallback_warnings_logged"] = _fallback_warnings(rig) - logs_before
    proof.checks["no 5xx and no failed request at all"] = not any(failed(r) for r in records)
    return proof


def _fallback_warnings(rig: Rig) -> int:
    return sum(
        h.process.log.read_text().count("falling back to in-memory")
        for h in rig.hosts
        if h.process is not None
    )


# --- 5: cut an app host off the database --------------------------------------------------------


def cut_database_link(rig: Rig, duration: float = 26) -> Proof:
    proof = Proof("5 cut an app host off the database")
    host = rig.hosts[1]
    process, out = run_load(rig, "cut", duration)
    start = time.time()
    sleep_until(start + duration / 4)
    cut_at = time.time()
    ip("-n", host.ns, "link", "set", "eth1", "down")
    down_after = wait_for(
        "out of the pool", lambda: rig.status(host.name).startswith("DOWN"), 20, 0.05
    )
    sleep_until(start + duration * 0.6)
    ip("-n", host.ns, "link", "set", "eth1", "up")
    restored_at = time.time()
    wait_for("back in the pool", lambda: rig.status(host.name) == "UP", 30, 0.05)
    back_after = time.time() - restored_at
    records = finish(process, out, duration + 60)
    failures = [r for r in records if failed(r)]
    common(proof, rig, records, "cut")
    proof.figures.update(
        out_of_pool_after_s=round(down_after, 2),
        failed_requests_max_s=round(max((r["dt"] for r in failures), default=0.0), 2),
        back_in_pool_after_link_up_s=round(back_after, 2),
    )
    proof.checks["only the cut host's requests failed"] = all(
        r["server"] == host.name for r in failures
    )
    proof.checks[f"they failed fast (under {FAIL_FAST_BOUND} s each)"] = all(
        r["dt"] < FAIL_FAST_BOUND for r in failures
    )
    proof.checks[f"/readyz took it out within {DETECT_BOUND} s"] = down_after <= DETECT_BOUND
    proof.checks["no failure after it was out of the pool"] = all(
        r["t"] <= cut_at + down_after + 0.05 for r in failures
    )
    return proof


# --- 6: rolling restart -------------------------------------------------------------------------


def rolling_restart(rig: Rig, duration: float = 150) -> Proof:
    proof = Proof("6 rolling restart of every app host under load")
    process, out = run_load(rig, "rolling", duration)
    time.sleep(4)
    took = {}
    for host in rig.hosts:
        began = time.time()
        _set_state(rig, host.name, "drain")
        wait_for("drained", lambda h=host.name: rig.servers()[h]["scur"] == "0", 20, 0.05)
        assert host.process is not None
        host.process.stop(signal.SIGTERM, wait=15)  # graceful: finishes what it holds
        rig.start_app(host)
        time.sleep(2.5)  # two check intervals: the status below is the new process's
        wait_for(
            "healthy again",
            lambda h=host.name: rig.servers()[h]["check_status"] == "L7OK",
            30,
            0.05,
        )
        _set_state(rig, host.name, "ready")
        wait_for("back", lambda h=host.name: rig.status(h) == "UP", 30, 0.05)
        took[host.name] = round(time.time() - began, 1)
    finished_at = time.time()
    time.sleep(3)  # some load after the last restart, then end the run early
    out.with_suffix(".stop").touch()
    records = finish(process, out, duration + 60)
    common(proof, rig, records, "rolling")
    proof.figures["restart_seconds_per_host"] = took
    proof.figures["requests_during_restarts"] = sum(r["t"] < finished_at for r in records)
    proof.checks["zero failed requests"] = not any(failed(r) for r in records)
    proof.checks["restarts finished while the load ran"] = finished_at < max(
        r["t"] for r in records
    )
    return proof


def _set_state(rig: Rig, server: str, state: str) -> None:
    for backend in ("app_ready", "app_alive"):
        rig.haproxy(f"set server {backend}/{server} state {state}")


# --- 7: soak ------------------------------------------------------------------------------------


def soak(rig: Rig, duration: float = 600) -> Proof:
    proof = Proof(f"7 soak: {duration:.0f} s of mixed load")
    window = min(60.0, duration / 5)
    mix = {"home": 4, "explore": 3, "profile": 2, "post": 1, "follow": 1, "signin": 1}
    process, out = run_load(rig, "soak", duration, users=10, rate=10, mix=mix)
    start = time.time()
    memory: dict[str, int] = {}
    sampler = threading.Thread(target=_sample_memory, args=(rig, start, window, duration, memory))
    sampler.start()
    records = finish(process, out, duration + 90)
    sampler.join(30)
    views = [r for r in records if r["kind"] not in ("signin", "signout")]
    # Each person signs in first and each worker's first requests warm its caches: the
    # first window starts after that warm-up.
    warm = min(10.0, window / 2)
    edges = [start + warm + window * i for i in range(int((duration - warm) // window) + 1)]
    windows = [[r["dt"] for r in views if a <= r["t"] < a + window] for a in edges]
    windows = [w for w in windows if w]
    first, last = windows[0], windows[-1]
    growth = memory.get("end", 0) / memory["start"] - 1 if memory.get("start") else 1.0
    p99_first, p99_last = p99(first), p99(last)
    common(proof, rig, records, "soak")
    proof.figures.update(
        rate_per_s=round(len(records) / duration, 1),
        kinds=_counts(r["kind"] for r in records),
        window_s=window,
        p99_per_window_ms=[round(p99(w) * 1000) for w in windows],
        p99_first_window_ms=round(p99_first * 1000, 1),
        p99_last_window_ms=round(p99_last * 1000, 1),
        p50_ms=round(statistics.median(r["dt"] for r in views) * 1000, 1),
        worker_rss_mib_start=round(memory.get("start", 0) / 1024, 1),
        worker_rss_mib_end=round(memory.get("end", 0) / 1024, 1),
        worker_memory_growth_pct=round(growth * 100, 2),
    )
    proof.checks["zero 5xx, zero failed requests"] = not any(failed(r) for r in records)
    proof.checks["p99 stable (last window <= 1.5 x first + 50 ms)"] = (
        p99_last <= 1.5 * p99_first + 0.05
    )
    proof.checks["worker memory growth < 10 %"] = growth < 0.10
    return proof


def _sample_memory(
    rig: Rig, start: float, window: float, duration: float, into: dict[str, int]
) -> None:
    """Sum the workers' RSS after the first window (warm) and just before the end."""

    def total() -> int:
        return sum(rss_kib(pid) for h in rig.hosts for pid in rig.worker_pids(h))

    sleep_until(start + window)
    into["start"] = total()
    sleep_until(start + duration - 2)
    into["end"] = total()


ALL = [sessions, stop_redis, cut_database_link, restart_postgres, kill_host, rolling_restart]
