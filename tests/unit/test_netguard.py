"""The SSRF guard: which URLs and addresses tierpath may contact, and how it reads.

The address rules are pure. The session is exercised against a real HTTP
server on loopback (allowed explicitly), so redirects, size caps, timeouts and
the connect-time address check run through the real requests/urllib3 stack.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lti_tool import netguard
from lti_tool.netguard import (
    FetchError,
    GuardedSession,
    UnsafeDestination,
    address_problem,
    check_url,
    checked_addresses,
)


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("10.0.0.5", "a private address"),
        ("172.16.3.4", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fd00::1", "a private address"),
        ("127.0.0.1", "a loopback address"),
        ("127.8.9.10", "a loopback address"),
        ("::1", "a loopback address"),
        ("169.254.169.254", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("0.0.0.0", "an unspecified address"),  # noqa: S104
        ("::", "an unspecified address"),
        ("240.0.0.1", "a private address"),  # reserved, listed private by Python
        ("100.64.0.1", "not a public address"),  # carrier-grade NAT
        ("192.0.2.10", "a private address"),  # documentation
        ("::ffff:10.0.0.5", "a private address"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "a link-local address"),
        ("2002:a00:5::1", "a private address"),  # 6to4 of 10.0.0.5
        ("64:ff9b::a9fe:a9fe", "a link-local address"),  # NAT64 of 169.254.169.254
        ("not-an-ip", "not an IP address"),
    ],
)
def test_non_public_addresses_are_refused(address: str, problem: str) -> None:
    assert address_problem(address, allow_loopback=False) == problem


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_problem(address, allow_loopback=False) is None


def test_loopback_setting_allows_loopback_only() -> None:
    assert address_problem("127.0.0.1", allow_loopback=True) is None
    assert address_problem("::1", allow_loopback=True) is None
    assert address_problem("::ffff:127.0.0.1", allow_loopback=True) is None
    assert address_problem("10.0.0.5", allow_loopback=True) == "a private address"
    assert address_problem("169.254.169.254", allow_loopback=True) is not None


@pytest.mark.parametrize(
    ("url", "allow_loopback", "message"),
    [
        ("http://lms.example.com/x", False, "must use https://"),
        ("http://lms.example.com/x", True, "must use https://"),
        ("http://127.0.0.1:9100/x", False, "must use https://"),
        ("https://user:pw@lms.example.com/x", False, "user name or password"),
        ("https://user@lms.example.com/x", False, "user name or password"),
        ("ftp://lms.example.com/x", False, "not an absolute https:// URL"),
        ("file:///etc/passwd", False, "not an absolute https:// URL"),
        ("/relative/path", False, "not an absolute https:// URL"),
        ("https://lms.example.com:99999/x", False, "not a valid URL"),
    ],
)
def test_url_policy_refuses(url: str, allow_loopback: bool, message: str) -> None:
    with pytest.raises(UnsafeDestination, match=message):
        check_url(url, allow_loopback=allow_loopback)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9100/x", "http://[::1]:9100/x", "http://localhost:9100/x"],
)
def test_url_policy_allows_loopback_http_only_with_the_setting(url: str) -> None:
    check_url(url, allow_loopback=True)


def test_every_resolved_address_is_checked() -> None:
    def resolver(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "10.1.2.3"]

    with pytest.raises(UnsafeDestination, match=r"lms\.example\.com \(10\.1\.2\.3\)"):
        checked_addresses(
            "lms.example.com", 443, allow_loopback=False, resolver=resolver
        )


def test_localhost_names_are_refused_without_resolving() -> None:
    def resolver(host: str, port: int) -> list[str]:
        raise AssertionError("must not resolve")

    for name in ("localhost", "LOCALHOST.", "api.localhost"):
        with pytest.raises(UnsafeDestination, match="this machine"):
            checked_addresses(name, 443, allow_loopback=False, resolver=resolver)


# -- a real server on loopback ------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.server.hits.append(self.path)  # type: ignore[attr-defined]
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/huge":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()  # no Content-Length: read until close
            for _ in range(64):
                self.wfile.write(b"x" * 16384)
        elif self.path == "/slow":
            time.sleep(2)
        else:
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.hits = []  # type: ignore[attr-defined]
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _url(server: ThreadingHTTPServer, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def test_loopback_fetch_reads_the_answer(server: ThreadingHTTPServer) -> None:
    http = GuardedSession((2.0, 2.0), allow_loopback=True)
    fetched = http.fetch("GET", _url(server, "/ok"), max_bytes=1024)
    assert (fetched.status, fetched.body) == (200, b'{"ok": true}')


def test_redirect_is_returned_not_followed(server: ThreadingHTTPServer) -> None:
    http = GuardedSession((2.0, 2.0), allow_loopback=True)
    fetched = http.fetch("GET", _url(server, "/redirect"), max_bytes=1024)
    assert fetched.status == 302
    assert server.hits == ["/redirect"]  # type: ignore[attr-defined]


def test_reading_stops_at_the_size_cap(server: ThreadingHTTPServer) -> None:
    http = GuardedSession((2.0, 2.0), allow_loopback=True)
    with pytest.raises(FetchError, match="more than 65536 bytes"):
        http.fetch("GET", _url(server, "/huge"), max_bytes=65536)


def test_a_silent_server_times_out(server: ThreadingHTTPServer) -> None:
    http = GuardedSession((0.3, 0.3), allow_loopback=True)
    started = time.monotonic()
    with pytest.raises(FetchError, match="did not answer in time"):
        http.fetch("GET", _url(server, "/slow"), max_bytes=1024)
    assert time.monotonic() - started < 1.5


def test_loopback_is_refused_without_the_setting(server: ThreadingHTTPServer) -> None:
    http = GuardedSession((2.0, 2.0), allow_loopback=False)
    with pytest.raises(UnsafeDestination):
        http.fetch("GET", _url(server, "/ok"), max_bytes=1024)
    assert server.hits == []  # type: ignore[attr-defined]


def test_connect_time_check_catches_a_name_that_changed_address(
    server: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the pre-check saw a public address, the socket would not."""
    port = server.server_address[1]
    http = GuardedSession(
        (2.0, 2.0),
        allow_loopback=False,
        resolver=lambda host, port: ["93.184.215.14"],  # what the pre-check sees
    )
    # What the system resolver answers a moment later, when the socket connects.
    monkeypatch.setattr(netguard, "resolve", lambda host, port: ["127.0.0.1"])
    with pytest.raises(UnsafeDestination, match="a loopback address"):
        http.fetch("GET", f"https://rebind.example:{port}/ok", max_bytes=1024)
    assert server.hits == []  # type: ignore[attr-defined]


def test_connect_time_check_connects_only_to_a_checked_address(
    server: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With loopback allowed, a name is connected to at the address it was checked at."""
    port = server.server_address[1]
    http = GuardedSession(
        (2.0, 2.0), allow_loopback=True, resolver=lambda host, port: ["127.0.0.1"]
    )
    monkeypatch.setattr(netguard, "resolve", lambda host, port: ["127.0.0.1"])
    fetched = http.fetch("GET", f"http://app.localhost:{port}/ok", max_bytes=1024)
    assert fetched.status == 200
    assert server.hits == ["/ok"]  # type: ignore[attr-defined]
