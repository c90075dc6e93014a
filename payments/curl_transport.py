"""HTTP/1.1 to one payment gateway over libcurl (`pycurl`): kept-alive connections, one handle per thread.

WeChat Pay calls sit on the order path, so the client's own cost counts: libcurl parses the answer
in C, where `urllib3` and `http.client` spend about as much Python time per call as the request
signature costs. A handle is not safe to share between threads, so each thread keeps its own (and
with it its connection to the gateway).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from io import BytesIO

import certifi
import pycurl
from requests.structures import CaseInsensitiveDict


class TransportError(OSError):
    """The gateway could not be reached, or did not answer in time."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: CaseInsensitiveDict
    body: bytes


class CurlTransport:
    """Requests to `base_url` (scheme, host and an optional path prefix), each with a whole timeout."""

    def __init__(self, base_url: str, timeout_s: float, proxy: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.proxy = proxy or ""  # "" also stops libcurl from reading a proxy from the environment
        self._local = threading.local()

    def _handle(self) -> pycurl.Curl:
        handle = getattr(self._local, "handle", None)
        if handle is None:
            handle = pycurl.Curl()
            handle.setopt(pycurl.CAINFO, certifi.where())
            handle.setopt(pycurl.PROXY, self.proxy)
            handle.setopt(pycurl.NOSIGNAL, 1)  # timeouts without SIGALRM, safe in threads
            handle.setopt(pycurl.TCP_NODELAY, 1)
            handle.setopt(pycurl.TIMEOUT_MS, max(1, int(self.timeout_s * 1000)))
            handle.setopt(pycurl.CONNECTTIMEOUT_MS, max(1, int(self.timeout_s * 1000)))
            self._local.handle = handle
        return handle

    def request(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> Answer:
        """Send one request; the answer whatever its status. Raises TransportError."""
        handle = self._handle()
        received, header_lines = BytesIO(), BytesIO()
        handle.setopt(pycurl.URL, self.base_url + path)
        if body is None:
            handle.setopt(pycurl.HTTPGET, 1)
        else:
            handle.setopt(pycurl.POSTFIELDS, body)
        handle.setopt(pycurl.CUSTOMREQUEST, method)
        # An empty Expect stops libcurl from waiting for "100 Continue" before a large body.
        handle.setopt(
            pycurl.HTTPHEADER, [f"{name}: {value}" for name, value in headers.items()] + ["Expect:"]
        )
        handle.setopt(pycurl.WRITEDATA, received)
        handle.setopt(pycurl.HEADERFUNCTION, header_lines.write)
        try:
            handle.perform()
        except pycurl.error as exc:
            self._local.handle = None
            handle.close()  # a connection left in an unknown state is not reused
            raise TransportError(f"{method} {path}: {exc.args[-1] if exc.args else exc}") from exc
        return Answer(
            handle.getinfo(pycurl.RESPONSE_CODE), _headers(header_lines.getvalue()), received.getvalue()
        )


def _headers(raw: bytes) -> CaseInsensitiveDict:
    """The final answer's headers (those of an interim answer, such as 100 Continue, are dropped)."""
    headers: CaseInsensitiveDict = CaseInsensitiveDict()
    for line in raw.decode("iso-8859-1").split("\r\n"):
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip()] = value.strip()
        elif name.startswith("HTTP/"):
            headers.clear()
    return headers
