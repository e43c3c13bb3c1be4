"""Outbound HTTP to URLs that someone else chose, guarded against SSRF.

Dynamic Registration makes tierpath fetch whatever URL the registration link
names, before anyone has vouched for it. So such requests go through a
GuardedSession, which:

* accepts only https (plain http only to a loopback host, and only when the
  setting allows loopback), and no user name or password in the URL;
* resolves the host and refuses it when any address is private, loopback
  (unless allowed), link-local (cloud metadata), multicast, reserved,
  unspecified or otherwise not public, before sending anything;
* checks the addresses again when the socket connects, and connects only to a
  checked address (so a DNS answer that changes in between does not help);
* never follows redirects, ignores proxy environment variables, always has
  timeouts plus an overall deadline, and caps the size of the answer.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from lti_tool.http import TimeoutSession

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class UnsafeDestination(Exception):
    """A URL or address tierpath will not contact; nothing was sent."""


class FetchError(Exception):
    """The other side could not be reached, or its answer is unusable."""


@dataclass(frozen=True)
class Fetched:
    """A (small, fully read) HTTP answer."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_loopback_host(host: str) -> bool:
    """Tell whether a host name or literal address means this machine."""
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    ip = _literal_ip(name)
    if ip is None:
        return False
    return (_embedded_ipv4(ip) or ip).is_loopback


def address_problem(address: str, *, allow_loopback: bool) -> str | None:
    """Say why tierpath must not connect to `address`, or None if it may."""
    ip = _literal_ip(address)
    if ip is None:
        return "not an IP address"
    ip = _embedded_ipv4(ip) or ip
    if ip.is_loopback:
        return None if allow_loopback else "a loopback address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        return "not a public address"
    return None


def check_url(url: str, *, allow_loopback: bool) -> SplitResult:
    """Check scheme, host and credentials of a URL; raise UnsafeDestination."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        raise UnsafeDestination(f"{url!r} is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise UnsafeDestination(f"{url!r} is not an absolute https:// URL")
    if parts.username is not None or parts.password is not None:
        raise UnsafeDestination(f"{url!r} must not contain a user name or password")
    if scheme == "http" and not (allow_loopback and is_loopback_host(parts.hostname)):
        raise UnsafeDestination(
            f"{url!r} must use https:// (plain http is allowed only to this machine,"
            " and only when TIERPATH_REGISTRATION_ALLOW_LOOPBACK is set)"
        )
    return parts


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (raises OSError when it does not)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def checked_addresses(
    host: str, port: int, *, allow_loopback: bool, resolver: Resolver = resolve
) -> list[str]:
    """Resolve `host`; raise UnsafeDestination if any of its addresses is refused."""
    literal = _literal_ip(host)
    if literal is None and is_loopback_host(host) and not allow_loopback:
        raise UnsafeDestination(
            f"{host} is this machine; tierpath only contacts public internet"
            " addresses here"
        )
    try:
        addresses = [str(literal)] if literal is not None else resolver(host, port)
    except OSError as exc:
        raise FetchError(f"the host name {host} cannot be resolved ({exc})") from exc
    if not addresses:
        raise FetchError(f"the host name {host} has no addresses")
    for address in addresses:
        problem = address_problem(address, allow_loopback=allow_loopback)
        if problem is not None:
            shown = host if literal is not None else f"{host} ({address})"
            raise UnsafeDestination(
                f"{shown} is {problem}; tierpath only contacts public internet"
                " addresses here"
            )
    return addresses


def _guarded_connect(conn: HTTPConnection, allow_loopback: bool) -> socket.socket:
    """Resolve, check and connect to a checked address, at socket-connect time."""
    addresses = checked_addresses(
        conn._dns_host,  # urllib3's name to resolve
        conn.port,
        allow_loopback=allow_loopback,
        resolver=resolve,  # the system's answer now, whatever the pre-check saw
    )
    last: OSError | None = None
    for address in addresses:
        try:
            sock = urllib3_connection.create_connection(
                (address, conn.port),
                conn.timeout,
                source_address=conn.source_address,
                socket_options=conn.socket_options,
            )
        except TimeoutError as exc:
            raise ConnectTimeoutError(
                conn,
                f"Connection to {conn.host} timed out."
                f" (connect timeout={conn.timeout})",
            ) from exc
        except OSError as exc:
            last = exc
            continue
        sys.audit("http.client.connect", conn, conn.host, conn.port)
        return sock
    raise NewConnectionError(
        conn, f"Failed to establish a new connection: {last}"
    ) from last


def _pool_classes(allow_loopback: bool) -> dict[str, type[HTTPConnectionPool]]:
    class _Http(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return _guarded_connect(self, allow_loopback)

    class _Https(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return _guarded_connect(self, allow_loopback)

    class _HttpPool(HTTPConnectionPool):
        ConnectionCls = _Http

    class _HttpsPool(HTTPSConnectionPool):
        ConnectionCls = _Https

    return {"http": _HttpPool, "https": _HttpsPool}


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose sockets only ever connect to checked addresses."""

    def __init__(self, *, allow_loopback: bool) -> None:
        self.allow_loopback = allow_loopback
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.allow_loopback)


class GuardedSession(TimeoutSession):
    """HTTP for URLs from outside: checked, unredirected, timed and size-capped."""

    def __init__(
        self,
        timeout: tuple[float, float],
        *,
        allow_loopback: bool,
        resolver: Resolver = resolve,
    ) -> None:
        super().__init__(timeout)
        self.allow_loopback = allow_loopback
        self.resolver = resolver
        self.trust_env = False  # no proxies from the environment, no .netrc
        adapter = GuardedAdapter(allow_loopback=allow_loopback)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def check_destination(self, url: str) -> SplitResult:
        """Check a URL and every address of its host; raise UnsafeDestination."""
        parts = check_url(url, allow_loopback=self.allow_loopback)
        host = parts.hostname or ""
        port = parts.port or _DEFAULT_PORTS[parts.scheme.lower()]
        checked_addresses(
            host, port, allow_loopback=self.allow_loopback, resolver=self.resolver
        )
        return parts

    def fetch(
        self,
        method: str,
        url: str,
        *,
        max_bytes: int,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> Fetched:
        """Send one request and read at most `max_bytes` of the answer.

        Raises UnsafeDestination before sending anything to a refused place,
        and FetchError when the other side is unreachable, slow or too verbose.
        Redirects come back as they are (3xx), never followed (every call
        passes allow_redirects=False).
        """
        parts = self.check_destination(url)
        host = parts.hostname
        deadline = time.monotonic() + sum(self.default_timeout)
        send_headers = {"Accept-Encoding": "identity", **(headers or {})}
        try:
            response = self.request(
                method,
                url,
                headers=send_headers,
                json=json_body,
                allow_redirects=False,
                stream=True,
            )
        except requests.Timeout as exc:
            raise FetchError(f"{host} did not answer in time") from exc
        except (requests.RequestException, ValueError) as exc:
            raise FetchError(
                f"tierpath could not connect to {host} ({type(exc).__name__})"
            ) from exc
        with response:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(
                    f"{host} announced {int(declared)} bytes; tierpath reads at most"
                    f" {max_bytes} bytes"
                )
            body = bytearray()
            try:
                for chunk in response.iter_content(16384):
                    body += chunk
                    if len(body) > max_bytes:
                        raise FetchError(
                            f"{host} sent more than {max_bytes} bytes;"
                            " tierpath stopped reading"
                        )
                    if time.monotonic() > deadline:
                        raise FetchError(f"{host} is sending its answer too slowly")
            except requests.RequestException as exc:
                raise FetchError(
                    f"{host} broke off its answer ({type(exc).__name__})"
                ) from exc
        return Fetched(response.status_code, response.headers, bytes(body))
