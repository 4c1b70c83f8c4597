"""The rig: PostgreSQL, Redis, a provider, N gunicorn app hosts and haproxy, each a namespace.

    front switch 198.18.0.0/25      client .2   lb .3   idp .4   app1..N .11..
    back switch  198.18.0.128/25    app1..N .139..   postgres .150   redis .151

The app hosts sit on both switches, so an app host can lose its database link (proof 5) while
the load balancer still reaches it. Nothing has a default route; nothing listens outside the
namespaces. Use it as a context manager: everything is gone when the block ends, however it ends.
"""

from __future__ import annotations

import csv
import glob
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import tls
from .netns import TMP_PREFIX, Janitor, Process, ip, sweep_orphans, wait_for

ROOT = Path(__file__).resolve().parents[1]
FRONT, BACK = "198.18.0.{}/25", "198.18.0.{}/25"
CLIENT, LB, IDP = "198.18.0.2", "198.18.0.3", "198.18.0.4"
POSTGRES, REDIS = "198.18.0.150", "198.18.0.151"
APP_PORT = 8000
PROVIDER = "mock"
CLIENT_ID = "microblog-rig"
ACCESS_FORMAT = "%(p)s %(m)s %(U)s %(s)s %(L)s"
# One client address stands for many people here: sign-in limits per address are raised.
SIGNIN_LIMIT = "600 per minute"


@dataclass
class AppHost:
    name: str
    ns: str
    front: str
    back: str
    process: Process | None = None

    @property
    def url(self) -> str:
        return f"http://{self.front}:{APP_PORT}"


@dataclass
class Rig:
    """One running cluster; see the module docstring for its layout."""

    apps: int = 3
    workers: int = 2
    janitor: Janitor = field(default_factory=Janitor)
    hosts: list[AppHost] = field(default_factory=list)
    ns: dict[str, str] = field(default_factory=dict)
    started: dict[str, Process] = field(default_factory=dict)

    # --- lifetime ---------------------------------------------------------------------------

    def __enter__(self) -> Rig:
        try:
            self.start()
        except BaseException:
            self.janitor.clean()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.janitor.clean()

    @property
    def tmp(self) -> Path:
        assert self.janitor.tmp is not None
        return self.janitor.tmp

    def start(self) -> None:
        sweep_orphans()
        self.janitor.arm()
        self.janitor.tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-"))
        self.tmp.chmod(0o755)  # PostgreSQL runs as its own user below it
        self._network()
        self.ca = tls.make_ca_and_certs(self.tmp, {"lb": LB, "idp": IDP})
        self.start_postgres()
        self._create_database()
        self.start_redis()
        self._start_idp()
        self._write_providers()
        self._migrate()
        for host in self.hosts:
            self.start_app(host)
        self._start_haproxy()
        wait_for("every app host ready at the load balancer", self.all_up, 60)

    def _network(self) -> None:
        sw = self.ns["sw"] = self.janitor.namespace("sw")
        for bridge in ("brf", "brb"):
            ip("-n", sw, "link", "add", bridge, "type", "bridge")
            ip("-n", sw, "link", "set", bridge, "up")
        plan: list[tuple[str, str | None, str | None]] = [
            ("client", CLIENT, None),
            ("lb", LB, None),
            ("idp", IDP, None),
            ("pg", None, POSTGRES),
            ("redis", None, REDIS),
        ]
        for n in range(1, self.apps + 1):
            front, back = f"198.18.0.{10 + n}", f"198.18.0.{138 + n}"
            plan.append((f"app{n}", front, back))
        for name, front, back in plan:
            ns = self.ns[name] = self.janitor.namespace(name)
            for iface, bridge, side, address in (
                ("eth0", "brf", "f", front),
                ("eth1", "brb", "b", back),
            ):
                if address is None:
                    continue
                peer = f"{side}-{name}"
                ip(
                    "link",
                    "add",
                    "name",
                    iface,
                    "netns",
                    ns,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    peer,
                    "netns",
                    sw,
                )
                ip("-n", sw, "link", "set", peer, "master", bridge, "up")
                ip("-n", ns, "addr", "add", f"{address}/25", "dev", iface)
                ip("-n", ns, "link", "set", iface, "up")
            if name.startswith("app"):
                self.hosts.append(AppHost(name, ns, front or "", back or ""))

    # --- PostgreSQL -------------------------------------------------------------------------

    @property
    def pg_data(self) -> Path:
        return self.tmp / "pg"

    def _as_postgres(self, *command: str) -> list[str]:
        binary = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
        return [
            "setpriv",
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            f"{binary}/{command[0]}",
            *command[1:],
        ]

    def start_postgres(self) -> None:
        if not self.pg_data.exists():
            self.pg_data.mkdir()
            subprocess.run(["chown", "postgres:postgres", str(self.pg_data)], check=True)
            subprocess.run(
                self._as_postgres(
                    "initdb",
                    "-D",
                    str(self.pg_data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                ),
                check=True,
                capture_output=True,
                timeout=120,
            )
            with (self.pg_data / "pg_hba.conf").open("a") as hba:
                hba.write("host all all 198.18.0.128/25 trust\n")
        self.started["postgres"] = self.janitor.start(
            "postgres",
            self.ns["pg"],
            self._as_postgres(
                "postgres",
                "-D",
                str(self.pg_data),
                "-c",
                f"listen_addresses={POSTGRES}",
                "-c",
                f"unix_socket_directories={self.pg_data}",
                "-c",
                "shared_buffers=32MB",
            ),
        )
        wait_for("PostgreSQL", lambda: self._pg_ready(), 60)

    def stop_postgres(self) -> None:
        """Fast shutdown (SIGINT): clients are disconnected, committed work is on disk."""
        self.started["postgres"].stop(signal.SIGINT, wait=30)

    def _pg_ready(self) -> bool:
        command = self._as_postgres("pg_isready", "-q", "-h", str(self.pg_data))
        return subprocess.run(command, timeout=10).returncode == 0

    def sql(self, query: str) -> list[list[str]]:
        """Run a query on the rig's database (over its Unix socket); rows of text fields."""
        command = self._as_postgres(
            "psql", "-h", str(self.pg_data), "-d", "microblog", "-XAtF", "\t", "-c", query
        )
        out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
        return [line.split("\t") for line in out.stdout.splitlines()]

    def _create_database(self) -> None:
        command = self._as_postgres("createdb", "-h", str(self.pg_data), "microblog")
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    # --- Redis and the provider -------------------------------------------------------------

    def start_redis(self) -> None:
        self.started["redis"] = self.janitor.start(
            "redis",
            self.ns["redis"],
            [
                "redis-server",
                "--bind",
                REDIS,
                "--port",
                "6379",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no",
                "--dir",
                str(self.tmp),
            ],
        )
        wait_for("Redis", lambda: "Ready to accept" in self.started["redis"].log.read_text(), 30)

    def stop_redis(self) -> None:
        self.started["redis"].stop(signal.SIGTERM)

    def _start_idp(self) -> None:
        self.started["idp"] = self.janitor.start(
            "idp",
            self.ns["idp"],
            [
                sys.executable,
                "-m",
                "cluster.idp",
                IDP,
                "443",
                str(self.tmp / "idp.crt"),
                str(self.tmp / "idp.key"),
                str(self.ca),
            ],
            cwd=ROOT,
        )
        wait_for("provider", lambda: "listening" in self.started["idp"].log.read_text(), 30)

    def _write_providers(self) -> None:
        (self.tmp / "providers.toml").write_text(
            f'[providers.{PROVIDER}]\ntitle = "Rig SSO"\nissuer = "https://{IDP}"\n'
            f'client_id = "{CLIENT_ID}"\nclient_secret = "rig-secret"\n'
        )

    # --- the app hosts ----------------------------------------------------------------------

    def app_env(self) -> dict[str, str]:
        if not hasattr(self, "_secret"):
            self._secret = secrets.token_hex(32)  # shared by every host, as it must be
        prefixes = ("MICROBLOG_", "DATABASE_URL", "SECRET_KEY", "DEV_IDP_", "REDIS_URL")
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(prefixes) and not k.lower().endswith("_proxy")
        }
        return {
            **env,
            "MICROBLOG_ENV": "production",
            "SECRET_KEY": self._secret,
            "DATABASE_URL": f"postgresql://postgres@{POSTGRES}/microblog",
            "REDIS_URL": f"redis://{REDIS}:6379/0",
            "MICROBLOG_PROVIDERS": str(self.tmp / "providers.toml"),
            "MICROBLOG_TRUSTED_PROXIES": "1",
            # The rig's provider lives on its own (private) network, as a company's SSO would.
            "MICROBLOG_PRIVATE_PROVIDER_HOSTS": IDP,
            "MICROBLOG_DB_CONNECT_TIMEOUT": "2",
            "MICROBLOG_DB_STATEMENT_TIMEOUT": "5",
            "MICROBLOG_SIGNIN_RATE_LIMIT": SIGNIN_LIMIT,
            "MICROBLOG_CALLBACK_RATE_LIMIT": SIGNIN_LIMIT,
            "REQUESTS_CA_BUNDLE": str(self.ca),  # the provider's certificate
        }

    def _migrate(self) -> None:
        command = [
            "ip",
            "netns",
            "exec",
            self.hosts[0].ns,
            sys.executable,
            "-m",
            "flask",
            "--app",
            "microblog",
            "db",
            "upgrade",
        ]
        subprocess.run(
            command, env=self.app_env(), cwd=ROOT, check=True, capture_output=True, timeout=120
        )

    def start_app(self, host: AppHost) -> None:
        access = self.tmp / "logs" / f"{host.name}-access.log"
        log = self.tmp / "logs" / f"{host.name}.log"
        seen = log.read_text().count("Booting worker") if log.exists() else 0  # earlier runs
        host.process = self.janitor.start(
            host.name,
            host.ns,
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"{host.front}:{APP_PORT}",
                "--workers",
                str(self.workers),
                "--no-control-socket",
                "--access-logfile",
                str(access),
                "--access-logformat",
                ACCESS_FORMAT,
                "--log-level",
                "info",
                "wsgi:app",
            ],
            env=self.app_env(),
            cwd=ROOT,
        )
        booted = lambda: log.read_text().count("Booting worker") - seen >= self.workers  # noqa: E731
        wait_for(f"{host.name} workers", booted, 60)

    def host(self, name: str) -> AppHost:
        return next(h for h in self.hosts if h.name == name)

    def worker_pids(self, host: AppHost) -> list[int]:
        assert host.process is not None
        return _children(host.process.pid)

    # --- haproxy ----------------------------------------------------------------------------

    @property
    def admin_socket(self) -> Path:
        return self.tmp / "haproxy.sock"

    def _start_haproxy(self) -> None:
        template = (Path(__file__).parent / "haproxy.cfg").read_text()
        servers = {
            kind: "\n".join(f"    server {h.name} {h.front}:{APP_PORT} check" for h in self.hosts)
            for kind in ("ready", "alive")
        }
        values = {
            "admin_socket": self.admin_socket,
            "lb_address": LB,
            "lb_pem": self.tmp / "lb.pem",
            "ready_servers": servers["ready"],
            "alive_servers": servers["alive"],
        }
        config = template
        for key, value in values.items():  # not str.format: haproxy's ACLs use braces
            config = config.replace("{" + key + "}", str(value))
        path = self.tmp / "haproxy.cfg"
        path.write_text(config)
        self.started["haproxy"] = self.janitor.start(
            "haproxy", self.ns["lb"], ["haproxy", "-db", "-f", str(path)]
        )
        wait_for("haproxy admin socket", self.admin_socket.exists, 30)

    def haproxy(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(str(self.admin_socket))
            s.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def servers(self, backend: str = "app_ready") -> dict[str, dict[str, str]]:
        """haproxy's view of each server: status (UP, DOWN, DRAIN...), scur (in flight)."""
        text = self.haproxy("show stat").lstrip("# ")
        rows = csv.DictReader(text.splitlines())
        return {
            r["svname"]: r
            for r in rows
            if r["pxname"] == backend and r["svname"] not in ("FRONTEND", "BACKEND")
        }

    def status(self, name: str) -> str:
        return self.servers()[name]["status"]

    def all_up(self) -> bool:
        states = self.servers()
        return len(states) == self.apps and all(s["status"] == "UP" for s in states.values())

    # --- the client namespace ---------------------------------------------------------------

    def client_args(self, **args: Any) -> dict[str, Any]:
        return {
            "site": f"https://{LB}",
            "idp": f"https://{IDP}",
            "ca": str(self.ca),
            "hosts": {h.name: h.url for h in self.hosts},
            "provider": PROVIDER,
            "client_id": CLIENT_ID,
            **args,
        }

    def run_client(
        self, scenario: str, timeout: float = 300, module: str = "cluster.client", **args: Any
    ) -> dict[str, Any]:
        """Run a scenario of `module` in the client namespace; return its JSON answer."""
        command = ["ip", "netns", "exec", self.ns["client"], sys.executable, "-m", module, scenario]
        out = subprocess.run(
            command,
            input=json.dumps(self.client_args(**args)),
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=timeout,
        )
        if out.returncode != 0:
            raise RuntimeError(f"client {scenario} failed:\n{out.stderr[-3000:]}")
        return json.loads(out.stdout)

    def start_load(self, name: str, **args: Any) -> tuple[Process, Path]:
        """Start the load generator in the client namespace; its records go to a JSONL file."""
        out = self.tmp / f"{name}.jsonl"
        spec = self.tmp / f"{name}.json"
        stop = self.tmp / f"{name}.stop"  # its loop ends early once this file exists
        spec.write_text(json.dumps(self.client_args(out=str(out), stop=str(stop), **args)))
        command = [sys.executable, "-m", "cluster.client", "load", str(spec)]
        return self.janitor.start(name, self.ns["client"], command, cwd=ROOT), out


def _children(pid: int) -> list[int]:
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.split("/")[2]))
    return found


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def now() -> float:
    return time.time()
