"""A remote provider's requests go only to public https addresses, checked at connect time."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from microblog import create_app
from microblog.extensions import db
from microblog.identity import http
from microblog.models import User
from microblog.testing import FakeIdP, IsolatedClient
from tests.helpers import base_config, csrf_token

COMPANY = "https://sso.example.com/realms/main"
INTERNAL = "sso.internal.test"
REFUSED = "We could not verify the answer from"


class Listener:
    """A TCP port on loopback that records every connection made to it, and hangs up."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.05)  # so that close() ends this loop at once
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    self.received.append(conn.recv(65536))
                except OSError:
                    self.received.append(b"")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.close()


@dataclass
class Network:
    names: dict[str, str] = field(default_factory=dict)  # fake DNS
    attempts: list[tuple[str, int]] = field(default_factory=list)  # every connect()


@pytest.fixture
def network(monkeypatch) -> Network:
    """Fake DNS for test names; record every connection, refuse any but to 127.0.0.1.

    Whatever the app does, nothing leaves this machine.
    """
    net = Network()
    names, attempts = net.names, net.attempts
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            family = socket.AF_INET6 if ":" in names[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (names[host], port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    def connect(sock, address):
        attempts.append(address[:2])
        if address[0] == "127.0.0.1":
            return real_connect(sock, address)
        raise ConnectionRefusedError(f"test: no traffic to {address[0]}")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    return net


def count_users() -> int:
    return db.session.scalar(sa.select(sa.func.count(User.id)))


def flashed(client) -> str:
    return client.get("/login").get_data(as_text=True)


def point_discovery(fake_idp: FakeIdP, **endpoints: str) -> None:
    """Serve the company provider's discovery document with some endpoints changed."""
    document = {
        "issuer": COMPANY,
        "authorization_endpoint": f"{COMPANY}/authorize",
        "token_endpoint": f"{COMPANY}/token",
        "userinfo_endpoint": f"{COMPANY}/userinfo",
        "jwks_uri": f"{COMPANY}/jwks",
        **endpoints,
    }
    fake_idp.rsps.replace("GET", f"{COMPANY}/.well-known/openid-configuration", json=document)


@pytest.mark.parametrize(
    "token_url",
    [
        "http://127.0.0.1:{port}/token",
        "https://127.0.0.1:{port}/token",
        "http://localhost:{port}/t",
    ],
)
def test_discovery_naming_a_loopback_token_endpoint_gets_no_credentials(
    client, fake_idp, listener, network, token_url
):
    token_url = token_url.format(port=listener.port)
    point_discovery(fake_idp, token_endpoint=token_url)
    fake_idp.rsps.add_passthru(token_url)
    resp = fake_idp.sign_in(client, provider="company")
    assert resp.headers["Location"] == "/login"
    assert listener.received == []  # no client secret, code or PKCE verifier reached it
    assert network.attempts == []
    assert count_users() == 0
    assert REFUSED in flashed(client)


def test_a_redirect_to_loopback_is_refused_too(client, fake_idp, listener, network):
    target = f"http://127.0.0.1:{listener.port}/steal"
    fake_idp.rsps.replace("GET", f"{COMPANY}/userinfo", status=302, headers={"Location": target})
    fake_idp.rsps.add_passthru(target)
    resp = fake_idp.sign_in(client, provider="company")
    assert resp.headers["Location"] == "/login"
    assert listener.received == [] and network.attempts == []
    assert REFUSED in flashed(client)


def internal_app(tmp_path, database_url, port: int, **config: object):
    providers = tmp_path / "providers.toml"
    providers.write_text(
        f'[providers.internal]\ntitle = "Internal SSO"\nissuer = "https://{INTERNAL}:{port}"\n'
        'client_id = "a"\nclient_secret = "b"\n'
    )
    app = create_app(base_config(database_url, MICROBLOG_PROVIDERS=str(providers), **config))
    app.test_client_class = IsolatedClient
    return app


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "address",
    ["10.0.0.7", "169.254.169.254", "192.168.1.1", "127.0.0.1", "::1", "fd00::1",
     "::ffff:10.0.0.1", "100.64.0.1", "0.0.0.0"],
)  # fmt: skip
def test_a_provider_resolving_to_a_private_address_is_refused(
    tmp_path, database_url, listener, network, address
):
    network.names[INTERNAL] = address
    app = internal_app(tmp_path, database_url, listener.port)
    client = app.test_client()
    resp = client.post("/login/internal", data={"csrf_token": csrf_token(client)})
    assert resp.headers["Location"] == "/login"
    assert network.attempts == []  # refused before connecting: no packet to that address
    assert listener.received == []
    assert REFUSED in flashed(client)
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_operator_may_allow_a_private_provider_host(tmp_path, database_url, listener, network):
    network.names[INTERNAL] = "127.0.0.1"  # stands for the company network: the listener
    app = internal_app(tmp_path, database_url, listener.port, PRIVATE_PROVIDER_HOSTS=(INTERNAL,))
    client = app.test_client()
    resp = client.post("/login/internal", data={"csrf_token": csrf_token(client)})
    assert resp.headers["Location"] == "/login"  # the listener speaks no TLS
    assert network.attempts == [("127.0.0.1", listener.port)]
    assert listener.received and listener.received[0].startswith(b"\x16\x03")  # a TLS hello
    with app.app_context():
        db.engine.dispose()


def test_private_provider_hosts_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MICROBLOG_PRIVATE_PROVIDER_HOSTS", "SSO.corp.example, idp.lan")
    app = create_app(base_config(f"sqlite:///{tmp_path / 'x.sqlite'}"))
    assert app.config["PRIVATE_PROVIDER_HOSTS"] == ("sso.corp.example", "idp.lan")
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize(
    ("address", "public"),
    [("93.184.216.34", True), ("2606:4700::1111", True), ("10.1.2.3", False),
     ("172.16.0.1", False), ("169.254.169.254", False), ("fe80::1%eth0", False),
     ("::ffff:127.0.0.1", False), ("224.0.0.1", False), ("::", False)],
)  # fmt: skip
def test_public_addresses(address, public):
    assert http.is_public(address) is public
