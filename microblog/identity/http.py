"""Provider HTTP within bounds: one deadline per page, capped answers, public addresses only."""

from __future__ import annotations

import contextvars
import ipaddress
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session
from flask import has_request_context, request
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util import connection as urllib3_connection

from .limits import MAX_ANSWER_BYTES, OverLimit
from .providers import Provider
from .urls import is_loopback

DEFAULT_TIMEOUT = 10.0
MAX_REDIRECTS = 3
CHUNK = 64 * 1024
DEADLINE_KEY = "microblog.provider_deadline"


class DestinationRefused(requests.RequestException, ValueError):
    """A provider (or its discovery document) sent us where provider requests may not go."""


class _Refused(Exception):
    """Raised inside urllib3, which would retry an OSError; becomes DestinationRefused."""


@dataclass(frozen=True)
class Egress:
    """Where one provider's requests may connect."""

    # A provider configured on loopback (development, tests) may connect anywhere.
    anywhere: bool = False
    # Hosts the operator vouches for (MICROBLOG_PRIVATE_PROVIDER_HOSTS): private addresses ok.
    private_hosts: frozenset[str] = frozenset()


def egress_for(p: Provider, private_hosts: Iterable[str]) -> Egress:
    """Return where p's requests may go: anywhere if all its configured URLs are on loopback."""
    urls = (p.issuer, p.server_metadata_url, p.authorize_url, p.token_url, p.userinfo_url)
    hosts = [urlsplit(u).hostname or "" for u in (*urls, p.api_base_url) if u]
    local = bool(hosts) and all(is_loopback(h) for h in hosts)
    return Egress(local, frozenset(h.lower().rstrip(".") for h in private_hosts))


def is_public(address: str) -> bool:
    """Say whether an IP address is a public one (not loopback, private, link-local...)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int) -> list[str]:
    """Return the addresses host resolves to: the ones vetted are the ones connected to."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _Call:
    """One provider request in flight: its deadline, and the sockets to cut when it passes."""

    def __init__(self, seconds: float, egress: Egress) -> None:
        self.egress = egress
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def watch(self, sock: socket.socket) -> None:
        """Keep a duplicate of sock: shutting it down wakes any read blocked on the original."""
        with self._lock:
            self._sockets.append(sock.dup())
            if self.expired:
                self._shutdown()

    def __enter__(self) -> _Call:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            self._shutdown()

    def _shutdown(self) -> None:
        for sock in self._sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:  # already closed by the other side
                pass


_current: contextvars.ContextVar[_Call | None] = contextvars.ContextVar(
    "microblog_provider_call", default=None
)


def _opened(conn: HTTPConnection, open_socket: Callable[[], socket.socket]) -> socket.socket:
    """Open conn's socket: vetted here, at connect time, so that DNS rebinding cannot pass."""
    call = _current.get()
    egress = call.egress if call is not None else Egress()
    sock = open_socket() if egress.anywhere else _open_vetted(conn, egress)
    if call is not None:
        call.watch(sock)
    return sock


def _open_vetted(conn: HTTPConnection, egress: Egress) -> socket.socket:
    host, port = conn.host, conn.port or 443
    if not isinstance(conn, HTTPSConnection):
        raise _Refused(f"http://{host}: a provider that is not on loopback must use https")
    try:
        addresses = resolve(conn._dns_host, port)
    except socket.gaierror as exc:
        raise NameResolutionError(host, conn, exc) from exc
    if host.lower() not in egress.private_hosts:
        for address in addresses:
            if not is_public(address):
                raise _Refused(
                    f"{host} resolves to {address}, not a public address "
                    "(MICROBLOG_PRIVATE_PROVIDER_HOSTS lists hosts allowed one)"
                )
    error: OSError = OSError(f"{host} has no address")
    for address in addresses:  # only the addresses just vetted: no second lookup
        try:
            return urllib3_connection.create_connection(
                (address, port), conn.timeout, conn.source_address, conn.socket_options
            )
        except OSError as exc:
            error = exc
    if isinstance(error, TimeoutError):
        raise ConnectTimeoutError(conn, f"Connection to {host} timed out") from error
    raise NewConnectionError(conn, f"Failed to establish a new connection: {error}") from error


class _HTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _opened(self, super()._new_conn)


class _HTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _opened(self, super()._new_conn)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _Adapter(HTTPAdapter):
    """Requests' adapter on our connections, always direct (a proxy would hide the destination)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        kwargs["proxies"] = None
        return super().send(request, *args, **kwargs)


class BoundedSession(OAuth2Session):  # type: ignore[misc]  # Authlib is untyped
    """Authlib's requests session with a total deadline and a size cap on every answer.

    `default_timeout` (MICROBLOG_OAUTH_TIMEOUT) is Authlib's per-read timeout; here it bounds
    all the provider requests of one page together, headers and bodies included, so that a
    provider sending a byte at a time cannot hold a worker.
    """

    def __init__(self, *args: Any, egress: Egress | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.egress = egress or Egress()
        self.max_redirects = MAX_REDIRECTS
        # Only encodings we can decompress with a bound (no brotli or zstd bombs).
        self.headers["Accept-Encoding"] = "gzip, deflate"
        for prefix in ("http://", "https://"):
            self.mount(prefix, _Adapter())
        # A hook sees every response, redirects included, before requests reads its body.
        self.hooks["response"].append(_read_capped)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        budget = self.default_timeout or DEFAULT_TIMEOUT
        remaining = page_deadline(budget) - time.monotonic()
        if remaining <= 0:
            raise requests.Timeout(f"no time left for {url} within {budget} s")
        kwargs["timeout"] = remaining  # connect and each read; the timer bounds the total
        kwargs["stream"] = True  # the hook reads the body itself
        with _Call(remaining, self.egress) as call:
            token = _current.set(call)
            try:
                return super().request(method, url, *args, **kwargs)  # type: ignore[no-any-return]
            except _Refused as exc:
                raise DestinationRefused(str(exc)) from None
            except (requests.RequestException, Urllib3Error, OSError) as exc:
                if call.expired:
                    raise requests.Timeout(f"{url} did not answer within {budget} s") from exc
                raise
            finally:
                _current.reset(token)


def page_deadline(budget: float) -> float:
    """Return when the provider requests of this page must be done (monotonic clock)."""
    now = time.monotonic()
    if not has_request_context():
        return now + budget
    deadline: float = request.environ.setdefault(DEADLINE_KEY, now + budget)
    return deadline


def _read_capped(resp: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    """Read the body of resp, refusing more than MAX_ANSWER_BYTES (after decompression)."""
    try:
        declared = int(resp.headers.get("Content-Length", "0"))
    except ValueError:
        declared = 0
    if declared > MAX_ANSWER_BYTES:
        resp.close()
        raise OverLimit(f"{resp.url} announced {declared} bytes; at most {MAX_ANSWER_BYTES}")
    decompress = _decompressor(resp)
    chunks, size = [], 0
    try:
        while chunk := resp.raw.read(CHUNK, decode_content=False):
            chunk = decompress(chunk, MAX_ANSWER_BYTES + 1 - size)
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise OverLimit(f"{resp.url} sent more than {MAX_ANSWER_BYTES} bytes")
            chunks.append(chunk)
    except OverLimit:
        raise
    except (Urllib3Error, OSError, zlib.error) as exc:  # OSError: also the deadline's cut
        raise requests.ConnectionError(f"{resp.url}: {exc}", response=resp) from exc
    finally:
        resp.raw.close()
    resp._content = b"".join(chunks)
    resp._content_consumed = True  # type: ignore[attr-defined]
    return resp


def _decompressor(resp: requests.Response) -> Callable[[bytes, int], bytes]:
    encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return lambda data, _limit: data
    if encoding in ("gzip", "x-gzip", "deflate"):
        # wbits 32 + 15: a gzip or zlib header, whichever comes; max_length bounds the output.
        decoder = zlib.decompressobj(32 + zlib.MAX_WBITS)
        return lambda data, limit: decoder.decompress(data, max(limit, 1))
    resp.close()
    raise OverLimit(f"{resp.url} sent Content-Encoding {encoding!r}; only gzip or deflate")
