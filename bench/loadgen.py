"""Load generators: wrk when it can be found or installed, else a Python one (with a warning).

Standalone: `python -m bench.loadgen URL [--duration 5] [--connections 8] [--python]`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


@dataclass
class Result:
    """One round against one URL."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # socket errors, timeouts and statuses other than 2xx/3xx

    def as_dict(self) -> dict:
        return asdict(self)


def find_wrk(install: bool = True) -> str | None:
    """Return the path of wrk, installing Debian's package first when root and allowed."""
    path = shutil.which("wrk")
    if path or not install or os.geteuid() != 0 or not shutil.which("apt-get"):
        return path
    print("wrk not found: installing it with apt-get (Debian package 'wrk') ...", flush=True)
    # Wait for a dpkg lock that another apt-get holds instead of failing at once.
    cmd = ["apt-get", "-o", "DPkg::Lock::Timeout=120", "install", "-y", "-q", "wrk"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0 and "Unable to locate package" in done.stderr + done.stdout:
        subprocess.run(
            ["apt-get", "-o", "DPkg::Lock::Timeout=120", "update", "-q"],
            env=env,
            capture_output=True,
        )
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"apt-get install wrk failed: {done.stderr.strip()[-300:]}", flush=True)
    return shutil.which("wrk")


def run_wrk(
    wrk: str, url: str, headers: dict[str, str], duration: float, connections: int, threads: int = 2
) -> Result:
    """Load url with wrk for duration seconds and parse its report."""
    cmd = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> Result:
    """Read requests/s, the 50% and 99% latencies and the error counts from wrk's output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    latency = {
        p: _ms(v, u)
        for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", out, re.M)
    }
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m.group(1))
    return Result(
        rps, latency.get("50", float("nan")), latency.get("99", float("nan")), requests, errors
    )


def _ms(value: str, unit: str) -> float:
    return float(value) * UNITS[unit]


def run_python(
    url: str, headers: dict[str, str], duration: float, connections: int, processes: int = 2
) -> Result:
    """Load url from `processes` processes with threads, one connection per request, like wrk."""
    processes = max(1, min(processes, connections))
    per_process = [
        connections // processes + (i < connections % processes) for i in range(processes)
    ]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(processes) as pool:
        parts = pool.starmap(_load_process, [(url, headers, duration, n) for n in per_process])
    latencies = sorted(lat for lats, _ in parts for lat in lats)
    errors = sum(e for _, e in parts)
    if not latencies:
        return Result(0.0, float("nan"), float("nan"), 0, errors)
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    return Result(len(latencies) / duration, pick(0.50), pick(0.99), len(latencies), errors)


def _load_process(url: str, headers: dict[str, str], duration: float, threads: int):
    parts = urlsplit(url)
    target = (parts.hostname or "127.0.0.1", parts.port or 80)
    path = parts.path + (f"?{parts.query}" if parts.query else "") or "/"
    lines = [f"GET {path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    request = ("\r\n".join(lines + [f"{k}: {v}" for k, v in headers.items()]) + "\r\n\r\n").encode()
    deadline = time.monotonic() + duration
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def worker() -> None:
        mine: list[float] = []
        bad = 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                with socket.create_connection(target, timeout=10) as sock:
                    sock.sendall(request)
                    head = b""
                    while chunk := sock.recv(65536):
                        head = head or chunk
            except OSError:
                bad += 1
                continue
            status = head[9:12]
            if status[:1] in (b"2", b"3"):
                mine.append((time.perf_counter() - started) * 1e3)
            else:
                bad += 1
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return latencies, errors[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--python", action="store_true", help="use the Python load generator")
    parser.add_argument("-H", "--header", action="append", default=[], help="'Name: value'")
    args = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in args.header)
    wrk = None if args.python else find_wrk()
    if wrk:
        result = run_wrk(wrk, args.url, headers, args.duration, args.connections)
    else:
        print("warning: using the Python load generator", file=sys.stderr)
        result = run_python(args.url, headers, args.duration, args.connections)
    print(result)


if __name__ == "__main__":
    main()
