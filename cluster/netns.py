"""Hosts made of network namespaces on two private switches, and processes that never outlive us.

Everything created here is registered in a `Janitor` before it exists; `Janitor.clean()` kills
every process (then anything else left in our namespaces), deletes the namespaces and removes the
temporary folder. It runs on normal exit, on an exception, on Ctrl+C, on SIGTERM/SIGHUP and at
interpreter exit, and is idempotent. Namespaces are named `mbc<owner pid>-<host>`, so that a rig
whose owner was SIGKILLed is swept away by the next one (`sweep_orphans`).
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PREFIX = "mbc"
TMP_PREFIX = "microblog-rig-"  # then the owner's pid: /tmp/microblog-rig-<pid>-xxxx
SWITCH = "sw"
NAME_RE = re.compile(rf"^{PREFIX}(\d+)-[a-z0-9]+$")


def ip(*args: str, check: bool = True) -> str:
    """Run one `ip` command; return its output."""
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def list_namespaces() -> list[str]:
    return [line.split()[0] for line in ip("netns", "list").splitlines() if line.strip()]


def namespace_pids(ns: str) -> list[int]:
    return [int(p) for p in ip("netns", "pids", ns, check=False).split()]


def sweep_orphans() -> list[str]:
    """Delete the namespaces, processes and folders of rigs whose owning process is gone."""
    swept = []
    for ns in list_namespaces():
        match = NAME_RE.match(ns)
        if match and not _alive(int(match.group(1))):
            _empty_and_delete(ns)
            swept.append(ns)
    for folder in Path(tempfile.gettempdir()).glob(f"{TMP_PREFIX}*"):
        owner = folder.name[len(TMP_PREFIX) :].partition("-")[0]
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(folder, ignore_errors=True)
            swept.append(str(folder))
    return swept


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _empty_and_delete(ns: str) -> None:
    for pid in namespace_pids(ns):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while namespace_pids(ns) and time.monotonic() < deadline:
        time.sleep(0.05)
    ip("netns", "del", ns, check=False)


@dataclass
class Process:
    """A process we started in a namespace, in a process group of its own."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, sig: int = signal.SIGTERM, wait: float = 15) -> None:
        """Signal the whole group, wait, then SIGKILL whatever is left of it."""
        if self.running():
            self.signal_group(sig)
            try:
                self.popen.wait(wait)
            except subprocess.TimeoutExpired:
                pass
        self.signal_group(signal.SIGKILL)  # workers a master left behind, too
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass


@dataclass
class Janitor:
    """Owns every namespace, process and folder of one rig, and removes them all."""

    prefix: str = field(default_factory=lambda: f"{PREFIX}{os.getpid()}")
    tmp: Path | None = None
    namespaces: list[str] = field(default_factory=list)
    processes: list[Process] = field(default_factory=list)
    cleaned: bool = False
    _old_handlers: dict[int, Any] = field(default_factory=dict)

    def arm(self) -> None:
        """Clean up at interpreter exit and turn SIGTERM/SIGHUP into a normal, cleaning exit."""
        atexit.register(self.clean)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            self._old_handlers[sig] = signal.signal(sig, _exit_on_signal)

    def namespace(self, host: str) -> str:
        ns = f"{self.prefix}-{host}"
        self.namespaces.append(ns)  # registered first: a half-made namespace is still removed
        ip("netns", "add", ns)
        ip("-n", ns, "link", "set", "lo", "up")
        return ns

    def start(
        self,
        name: str,
        ns: str,
        command: Sequence[str],
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Process:
        """Start `command` inside namespace `ns`, its output in a log file of the rig."""
        assert self.tmp is not None
        log = self.tmp / "logs" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            popen = subprocess.Popen(
                ["ip", "netns", "exec", ns, *command],
                env=env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def clean(self) -> None:
        """Stop every process, empty and delete every namespace, remove the folder."""
        if self.cleaned:
            return
        self.cleaned = True
        # Signalled all at once, so that the slowest sets the wait, not their sum.
        live = [p for p in reversed(self.processes) if p.running()]
        for process in live:
            process.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + 5
        for process in live:
            try:
                process.popen.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for process in reversed(self.processes):
            process.stop(wait=0)  # SIGKILL what is left, workers a master left behind too
        for ns in reversed(self.namespaces):
            _empty_and_delete(ns)
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        for sig, handler in self._old_handlers.items():
            signal.signal(sig, handler)
        atexit.unregister(self.clean)


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def wait_for(what: str, check: Callable[[], bool], timeout: float, every: float = 0.1) -> float:
    """Poll `check` until it is true; return the seconds it took, or raise after `timeout`."""
    started = time.monotonic()
    while True:
        if check():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(every)
