"""Provider HTTP within bounds: one deadline for the provider requests of a page, capped answers."""

from __future__ import annotations

import contextvars
import socket
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session
from flask import has_request_context, request
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError as Urllib3Error

from .limits import MAX_ANSWER_BYTES, OverLimit

DEFAULT_TIMEOUT = 10.0
MAX_REDIRECTS = 3
CHUNK = 64 * 1024
DEADLINE_KEY = "microblog.provider_deadline"


class _Call:
    """One provider request in flight: its deadline, and the sockets to cut when it passes."""

    def __init__(self, seconds: float) -> None:
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
    sock = open_socket()
    if (call := _current.get()) is not None:
        call.watch(sock)
    return sock


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
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
        with _Call(remaining) as call:
            token = _current.set(call)
            try:
                return super().request(method, url, *args, **kwargs)  # type: ignore[no-any-return]
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
