"""Run an app under gunicorn on loopback: start, wait until it answers, measure workers, stop."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """One gunicorn master and its workers, serving `app` (a gunicorn app spec) on loopback."""

    def __init__(
        self,
        app: str,
        env: dict[str, str],
        log_dir: Path,
        name: str,
        workers: int = 2,
        threads: int = 1,
        preload: bool = False,
        access_log: bool = False,
        port: int | None = None,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.error_log = log_dir / f"{name}.error.log"
        self.access_log = log_dir / f"{name}.access.log" if access_log else None
        cmd = [
            str(GUNICORN),
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{self.port}",
            "--error-logfile",
            str(self.error_log),
        ]
        if threads > 1:
            cmd += ["--threads", str(threads)]  # gunicorn then runs gthread workers
        if preload:
            cmd.append("--preload")
        if self.access_log:
            # Path, user agent and status: enough to tell who called the provider and for what;
            # and the app's own warnings (why a sign-in failed) into the error log.
            cmd += [
                "--capture-output",
                "--access-logfile",
                str(self.access_log),
                "--access-logformat",
                "%(m)s %(U)s %(s)s %(a)s",
            ]
        shown = [c.replace(str(log_dir), "$TMP") for c in cmd[1:]]
        self.command = shlex.join([".venv/bin/gunicorn", *shown, app])
        self.proc = subprocess.Popen(
            cmd + [app],
            cwd=ROOT,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        self.workers = workers

    def wait_ready(self, path: str = "/", timeout: float = 60) -> None:
        """Poll path until it answers (any HTTP status) and every worker has started."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}): {self.tail()}")
            try:
                urllib.request.urlopen(self.url + path, timeout=5).close()
            except urllib.error.HTTPError:
                pass  # an answer all the same
            except OSError:
                time.sleep(0.1)
                continue
            if len(self.worker_pids()) >= self.workers:
                return
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer on {self.url}{path}: {self.tail()}")

    def worker_pids(self) -> list[int]:
        """The master's children: gunicorn's workers."""
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in children.split()]

    def worker_rss_mb(self) -> list[float]:
        """Each worker's resident memory (VmRSS), in MB."""
        sizes = []
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            kb = next(
                int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")
            )
            sizes.append(round(kb / 1024, 1))
        return sizes

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.error_log.read_text().splitlines()[-lines:])
        except OSError:
            return "(no error log)"

    def stop(self) -> None:
        """SIGTERM the master (a graceful stop of its workers) and wait for it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Gunicorn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def verify_page(url: str, headers: dict[str, str], name: str, signed_in: bool = True) -> None:
    """Refuse to benchmark a page that does not answer 200 to the (signed-in) visitor."""
    request = urllib.request.Request(url, headers=headers)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=60) as response:
            body = response.read().decode()
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"{name}: {url} answered HTTP {exc.code}, not 200") from None
    if response.headers.get_content_type() == "application/json":
        return  # the API: its token, not a cookie, signs it in, and a 200 says it worked
    if not signed_in:
        if "Sign out" in body:
            raise RuntimeError(f"{name}: {url} shows a signed-in page to a visitor")
        return
    if "Sign out" not in body:
        raise RuntimeError(f"{name}: {url} does not show a signed-in page: is the cookie valid?")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:
        return None
