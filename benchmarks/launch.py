"""Benchmark full LTI 1.3 launches (OIDC login + launch) through the development LMS.

Each launch is the whole round trip a browser makes: LMS launch link → tool
/lti/login → LMS /auth → tool /lti/launch (validation, nonce, session) → /home →
learner home page. Two modes:

  in-process  both apps called through WSGI in this process (no sockets):
              the cost of our code and the library code alone;
  http        tierpath under gunicorn, devlms as a threaded server, driven
              over loopback HTTP by concurrent scripted browsers.

Usage:  python benchmarks/launch.py [--launches 300] [--concurrency 4]
        [--workers 2] [--database-url URL] [--mode in-process|http|both]
Prints launches/s and p50/p95/p99 latency per mode. No timing assertions.
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from werkzeug.test import EnvironBuilder, run_wsgi_app

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import logging

from devlms.app import DevLmsConfig, create_platform
from lti_tool.app import create_app
from lti_tool.db.migrate import upgrade
from lti_tool.settings import new_key_encryption_key
from tests.support.browser import Browser
from tests.support.live import LiveStack, devlms_registration, live_stack
from tests.support.platform import register_platform

logging.getLogger("werkzeug").setLevel(logging.ERROR)

USERS = ("learner1", "learner2", "instructor")


class WsgiAdapter(BaseAdapter):
    """A requests transport that calls a WSGI app in-process instead of a socket."""

    def __init__(self, app: Callable[..., Any]) -> None:
        super().__init__()
        self.app = app

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        url = urlsplit(request.url or "")
        body = (
            request.body
            if isinstance(request.body, bytes)
            else (request.body or "").encode()
        )
        builder = EnvironBuilder(
            path=url.path,
            query_string=url.query,
            method=request.method or "GET",
            headers=list(request.headers.items()),
            data=body,
            base_url=f"{url.scheme}://{url.netloc}",
        )
        app_iter, status, headers = run_wsgi_app(self.app, builder.get_environ())
        content = b"".join(app_iter)
        if hasattr(app_iter, "close"):
            app_iter.close()
        response = requests.Response()
        response.status_code = int(status.split()[0])
        for name, value in headers.items():
            if name.lower() == "set-cookie":
                continue
            response.headers[name] = value
        response.raw = _RawWithCookies(headers.getlist("Set-Cookie"), content)
        response._content = content
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


class _RawWithCookies(io.BytesIO):
    """Enough of urllib3's response for requests to extract Set-Cookie headers."""

    def __init__(self, cookies: list[str], content: bytes) -> None:
        super().__init__(content)
        self._original_response = _Original(cookies)


class _Original:
    def __init__(self, cookies: list[str]) -> None:
        self.msg = _Headers(cookies)


class _Headers:
    def __init__(self, cookies: list[str]) -> None:
        self._cookies = cookies

    def get_all(self, name: str, default: Any = None) -> list[str]:
        return self._cookies if name.lower() == "set-cookie" else (default or [])


def _database(url: str | None, workdir: Path) -> str:
    if url:
        upgrade(url)
        return url
    db_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    upgrade(db_url)
    return db_url


def _config(db_url: str, workdir: Path, base_url: str) -> dict[str, Any]:
    return {
        "DATABASE_URL": db_url,
        "INSTANCE_PATH": str(workdir / "instance"),
        "SECRET_KEY": secrets.token_urlsafe(40),
        "KEY_ENCRYPTION_KEY": new_key_encryption_key(),
        "BASE_URL": base_url,
        "LOG_LEVEL": "WARNING",
    }


def _one_launch(browser: Browser, lms_url: str, user: str) -> float:
    started = time.perf_counter()
    page = browser.open(f"{lms_url}/launch/rl-career-path?user={user}")
    elapsed = time.perf_counter() - started
    if page.status_code != 200 or "/lti/launch" not in " ".join(browser.history[-4:]):
        raise RuntimeError(
            f"launch failed: {page.status_code} {page.url}\n{page.text[:500]}"
        )
    browser.history.clear()
    return elapsed


def _report(mode: str, latencies: list[float], wall: float) -> None:
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    print(
        f"{mode:<28} launches={len(ordered):<5} "
        f"rate={len(ordered) / wall:7.1f}/s  p50={pct(0.50):6.1f} ms  "
        f"p95={pct(0.95):6.1f} ms  p99={pct(0.99):6.1f} ms  "
        f"mean={statistics.fmean(ordered) * 1000:6.1f} ms"
    )


def _run(
    browsers: list[Browser], lms_url: str, launches: int, concurrency: int
) -> tuple[list[float], float]:
    # Warm up: JWKS fetches, first key generation, connection pools.
    for index, browser in enumerate(browsers):
        _one_launch(browser, lms_url, USERS[index % len(USERS)])
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        latencies = list(
            pool.map(
                lambda i: _one_launch(
                    browsers[i % len(browsers)], lms_url, USERS[i % len(USERS)]
                ),
                range(launches),
            )
        )
    return latencies, time.perf_counter() - started


def bench_in_process(launches: int, database_url: str | None) -> None:
    """Both apps in this process; one browser, sequential (no sockets, no threads)."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        db_url = _database(database_url, workdir)
        tool_url, lms_url = "http://localhost:5000", "http://127.0.0.1:9100"
        tool = create_app(_config(db_url, workdir, tool_url))
        config = DevLmsConfig(base_url=lms_url, tool_url=tool_url)
        lms = create_platform(config)
        _register(tool, config)
        browser = Browser()
        browser.http.mount(tool_url + "/", WsgiAdapter(tool.wsgi_app))
        browser.http.mount(lms_url + "/", WsgiAdapter(lms.wsgi_app))
        # The tool fetches the LMS JWKS and the LMS the tool's, in-process too.
        tool.extensions["tierpath"].http.mount(lms_url + "/", WsgiAdapter(lms.wsgi_app))
        config.tool_jwks_fetcher = lambda url: (
            tool.test_client().get("/.well-known/jwks.json").get_json()
        )
        latencies, wall = _run([browser], lms_url, launches, concurrency=1)
        _report(f"in-process ({_kind(db_url)})", latencies, wall)
        tool.extensions["tierpath"].engine.dispose()


def _register(tool: Any, config: DevLmsConfig) -> None:
    register_platform(tool, devlms_registration(config), if_missing=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _gunicorn_tool(db_url: str, workdir: Path, workers: int) -> Iterator[str]:
    port = _free_port()
    tool_url = f"http://localhost:{port}"
    env = {
        **os.environ,
        **{
            f"TIERPATH_{k}": str(v)
            for k, v in _config(db_url, workdir, tool_url).items()
            if k != "INSTANCE_PATH"
        },
        "TIERPATH_INSTANCE": str(workdir / "instance"),
    }
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    if gunicorn is None:
        raise SystemExit("gunicorn is not installed (pip install -e '.[serve]')")
    process = subprocess.Popen(  # noqa: S603 (our own server)
        [
            gunicorn,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            "4",
            "--log-level",
            "warning",
            "lti_tool.app:create_app()",
        ],
        env=env,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{tool_url}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not start")
        yield tool_url
    finally:
        process.terminate()
        process.wait(timeout=15)


def bench_http(
    launches: int, concurrency: int, workers: int, database_url: str | None
) -> None:
    """tierpath under gunicorn, devlms threaded, concurrent browsers over loopback."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        db_url = _database(database_url, workdir)
        with _gunicorn_tool(db_url, workdir, workers) as tool_url:
            # devlms in a thread of this process; the tool is registered through
            # an app object sharing the database.
            registrar = create_app(_config(db_url, workdir, tool_url))

            def make_tool(_base: str) -> Any:
                return registrar

            with live_stack(make_tool) as stack:
                _retarget(stack, tool_url)
                _register(registrar, stack.lms_config)
                browsers = [Browser() for _ in range(concurrency)]
                latencies, wall = _run(browsers, stack.lms_url, launches, concurrency)
                _report(
                    f"http gunicorn w={workers} c={concurrency} ({_kind(db_url)})",
                    latencies,
                    wall,
                )
            registrar.extensions["tierpath"].engine.dispose()


def _retarget(stack: LiveStack, tool_url: str) -> None:
    """Point the running devlms at the gunicorn tool instead of the in-thread one."""
    stack.lms_config.tool_url = tool_url


def _kind(url: str) -> str:
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--launches", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TIERPATH_BENCH_DATABASE_URL")
        or os.environ.get("TIERPATH_DATABASE_URL"),
    )
    parser.add_argument(
        "--mode", choices=("in-process", "http", "both"), default="both"
    )
    args = parser.parse_args()
    print(f"# tierpath launch benchmark: {args.launches} launches per mode")
    if args.mode in ("in-process", "both"):
        bench_in_process(args.launches, args.database_url)
    if args.mode in ("http", "both"):
        bench_http(args.launches, args.concurrency, args.workers, args.database_url)


if __name__ == "__main__":
    main()
