"""Load generators: wrk when it can be found or installed, else a Python one (with a warning).

Both can cycle over many requests (paths and headers: many readers' cookies), wrk through a Lua
script. Standalone: `python -m bench.loadgen URL [--duration 5] [--connections 8] [--python]`.
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
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

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


Request = tuple[str, dict[str, str]]  # a path and its headers


def run_wrk(
    wrk: str,
    url: str,
    requests: list[Request] | dict[str, str],
    duration: float,
    connections: int,
    threads: int = 2,
    script_dir: Path | None = None,
) -> Result:
    """Load url's server with wrk for duration seconds, cycling over requests, and parse it.

    One request is sent as wrk's own (-H headers); several go through a Lua script whose
    request() cycles over them, so that no cache of one whole page can answer them all.
    """
    if isinstance(requests, dict):  # the earlier form: one URL, these headers
        requests = [("", requests)]
    cmd = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    with tempfile.TemporaryDirectory(dir=script_dir) as tmp:
        if len(requests) == 1:
            path, headers = requests[0]
            for name, value in headers.items():
                cmd += ["-H", f"{name}: {value}"]
            target = urljoin(url, path)
        else:
            script = Path(tmp) / "rotate.lua"
            script.write_text(lua_script(requests))
            cmd += ["-s", str(script)]
            target = url
        out = subprocess.run(cmd + [target], capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def lua_script(requests: list[Request]) -> str:
    """A wrk script whose request() cycles over requests; each thread starts elsewhere."""
    entries = ",\n".join(f"  {{{_lua(path)}, {_lua_table(headers)}}}" for path, headers in requests)
    return f"""-- written by bench/loadgen.py: cycle over {len(requests)} requests
local entries = {{
{entries}
}}
local requests = {{}}
local i = 0
local threads = 0

function setup(thread)
  thread:set("first", threads * 7919)
  threads = threads + 1
end

function init(args)
  for k, entry in ipairs(entries) do
    requests[k] = wrk.format("GET", entry[1], entry[2])
  end
  i = (first or 0) % #requests
end

function request()
  i = i % #requests + 1
  return requests[i]
end
"""


def _lua_table(headers: dict[str, str]) -> str:
    return "{" + ", ".join(f"[{_lua(k)}] = {_lua(v)}" for k, v in headers.items()) + "}"


def _lua(text: str) -> str:
    if any(c in text for c in "\r\n\0"):
        raise ValueError(f"not for a request line or header: {text!r}")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


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
    url: str,
    requests: list[Request] | dict[str, str],
    duration: float,
    connections: int,
    processes: int = 2,
) -> Result:
    """Load url's server from `processes` processes with threads, one connection per request,
    cycling over requests like the wrk script."""
    if isinstance(requests, dict):  # the earlier form: one URL, these headers
        requests = [("", requests)]
    processes = max(1, min(processes, connections))
    per_process = [
        connections // processes + (i < connections % processes) for i in range(processes)
    ]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(processes) as pool:
        parts = pool.starmap(
            _load_process, [(url, requests, duration, n, i) for i, n in enumerate(per_process)]
        )
    latencies = sorted(lat for lats, _ in parts for lat in lats)
    errors = sum(e for _, e in parts)
    if not latencies:
        return Result(0.0, float("nan"), float("nan"), 0, errors)
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    return Result(len(latencies) / duration, pick(0.50), pick(0.99), len(latencies), errors)


def _raw_request(netloc: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {netloc}", "Connection: close"]
    return ("\r\n".join(lines + [f"{k}: {v}" for k, v in headers.items()]) + "\r\n\r\n").encode()


def _load_process(
    url: str, requests: list[Request], duration: float, threads: int, process: int
) -> tuple[list[float], int]:
    parts = urlsplit(url)
    target = (parts.hostname or "127.0.0.1", parts.port or 80)
    here = parts.path + (f"?{parts.query}" if parts.query else "") or "/"
    raw = [_raw_request(parts.netloc, path or here, headers) for path, headers in requests]
    deadline = time.monotonic() + duration
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def worker(first: int) -> None:
        mine: list[float] = []
        bad = 0
        n = first
        while time.monotonic() < deadline:
            request = raw[n % len(raw)]
            n += 1
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

    pool = [
        threading.Thread(target=worker, args=((process * threads + t) * 7919,))
        for t in range(threads)
    ]
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
    parts = urlsplit(args.url)
    base = f"{parts.scheme}://{parts.netloc}"
    requests = [(parts.path + (f"?{parts.query}" if parts.query else "") or "/", headers)]
    wrk = None if args.python else find_wrk()
    if wrk:
        result = run_wrk(wrk, base, requests, args.duration, args.connections)
    else:
        print("warning: using the Python load generator", file=sys.stderr)
        result = run_python(base, requests, args.duration, args.connections)
    print(result)


if __name__ == "__main__":
    main()
