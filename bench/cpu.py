"""CPU seconds spent by processes during a round: gunicorn's workers and PostgreSQL's backends.

Wall-clock req/s on a shared 2-core machine moves with everyone else's load; the CPU a request
costs in the worker and in the database moves much less. Both are read from /proc/<pid>/stat
(utime + stime) before and after each round, for exactly the processes that serve us: the
gunicorn master's children, and the PostgreSQL backends whose application_name is ours.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import sqlalchemy as sa

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of one process, in seconds; None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / TICKS  # fields 14 and 15 of proc(5)


def snapshot(pids: Iterable[int]) -> dict[int, float]:
    return {pid: s for pid in pids if (s := cpu_seconds(pid)) is not None}


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two snapshots; a process born in between counts from zero.

    A process that ended in between loses its last part: gunicorn's workers and the app's
    pooled connections live through the run, so this does not happen in a measured round.
    """
    return sum(s - before.get(pid, 0.0) for pid, s in after.items())


class Backends:
    """The PostgreSQL server's backends that serve connections named `application_name`."""

    def __init__(self, url: str, application_name: str) -> None:
        self.engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        self.name = application_name

    def pids(self) -> list[int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                {"name": self.name},
            )
            return [pid for (pid,) in rows]

    def close(self) -> None:
        self.engine.dispose()


class Meter:
    """Measure one round: the workers' CPU and, on PostgreSQL, the backends' CPU."""

    def __init__(self, workers: Callable[[], list[int]], backends: Backends | None) -> None:
        self.workers, self.backends = workers, backends

    def start(self) -> tuple[dict[int, float], dict[int, float]]:
        database = snapshot(self.backends.pids()) if self.backends else {}
        return snapshot(self.workers()), database

    def stop(self, started: tuple[dict[int, float], dict[int, float]]) -> dict[str, float | None]:
        workers = spent(started[0], snapshot(self.workers()))
        if self.backends is None:
            return {"worker_cpu_s": workers, "db_cpu_s": None}
        # Backends that were there at the start, and any that connected during the round.
        pids = set(started[1]) | set(self.backends.pids())
        return {"worker_cpu_s": workers, "db_cpu_s": spent(started[1], snapshot(pids))}
