"""Rounds of load: one load generator with fixed settings, round robin over targets, CPU metered.

Every target (bare Flask, each page) gets one round in turn, so that whatever else the machine
does in a minute hits them all alike; their ratios, not their absolute req/s, are the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import loadgen
from bench.cpu import Meter
from bench.loadgen import Request


@dataclass
class Target:
    """What one load round asks for: a server, the requests to cycle over, who to meter."""

    base: str
    requests: list[Request]
    meter: Meter


class Loader:
    """One load generator with fixed settings."""

    def __init__(
        self, wrk: str | None, duration: float, connections: int, scripts: Path | None = None
    ) -> None:
        self.wrk, self.duration, self.connections = wrk, duration, connections
        self.scripts = scripts  # where wrk's Lua scripts are written

    def __call__(self, target: Target, duration: float | None = None) -> dict[str, Any]:
        """One round: req/s and latencies, and the CPU per request of workers and database."""
        seconds = duration or self.duration
        started = target.meter.start()
        if self.wrk:
            result = loadgen.run_wrk(
                self.wrk,
                target.base,
                target.requests,
                seconds,
                self.connections,
                script_dir=self.scripts,
            )
        else:
            result = loadgen.run_python(target.base, target.requests, seconds, self.connections)
        cpu = target.meter.stop(started)
        done = max(result.requests, 1)
        return {
            **result.as_dict(),
            "worker_cpu_ms": round(cpu["worker_cpu_s"] * 1e3 / done, 3),  # type: ignore[operator]
            "db_cpu_ms": None
            if cpu["db_cpu_s"] is None
            else round(cpu["db_cpu_s"] * 1e3 / done, 3),
        }


def round_robin(
    load: Loader,
    targets: dict[str, Target],
    rounds: int,
    progress: Callable[[str], None] = print,
) -> dict[str, list[dict[str, Any]]]:
    """Warm every target up for a second, then load each in turn, `rounds` times."""
    for target in targets.values():  # templates, statement caches, connection pools
        load(target, duration=1)
    measured: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
    for r in range(rounds):
        for name, target in targets.items():
            measured[name].append(load(target))
        progress(
            f"   round {r + 1}: "
            + ", ".join(f"{n} {rs[-1]['rps']:.0f}/s" for n, rs in measured.items())
        )
    return measured
