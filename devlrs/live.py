"""Run devlrs as a real HTTP server on loopback, in a thread.

``stop()`` closes the listening socket and every open connection, so clients
get "connection refused"; ``start()`` listens again on the same port::

    with running_lrs() as lrs:
        requests.post(lrs.endpoint + "statements", ...)
        lrs.stop()    # the LRS is down
        lrs.start()   # and back, same URL
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from .app import DevLrsConfig, create_app, get_lrs
from .faults import Faults
from .store import Store

__all__ = ["LiveLrs", "running_lrs"]


class _QuietHandler(WSGIRequestHandler):
    """Logs errors only, not every request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class _Server(ThreadedWSGIServer):
    """A threaded server that can cut its open (keep-alive) connections."""

    def __init__(self, host: str, port: int, app: Flask) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(host, port, app, handler=_QuietHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # a connection cut by stop() or dropped by the client
        super().handle_error(request, client_address)

    def cut_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already gone
                connection.shutdown(socket.SHUT_RDWR)


class LiveLrs:
    """A devlrs server on loopback; ``url`` is fixed once started."""

    def __init__(
        self, config: DevLrsConfig | None = None, host: str = "127.0.0.1"
    ) -> None:
        self.config = config or DevLrsConfig()
        self.app: Flask = create_app(self.config)
        self.host = host
        self.port = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def store(self) -> Store:
        return get_lrs(self.app).store

    @property
    def faults(self) -> Faults:
        return get_lrs(self.app).faults

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    @property
    def endpoint(self) -> str:
        """The xAPI endpoint, ``{url}/xapi/``."""
        return f"{self.url}/xapi/"

    @property
    def auth(self) -> tuple[str, str]:
        """The credentials, as ``requests`` takes them."""
        return self.config.username, self.config.password

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        """Listen (again); the first start picks a free port, later ones reuse it."""
        with self._lock:
            if self._server is not None:
                return
            server = _Server(self.host, self.port, self.app)
            self.port = server.server_port
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},  # so stop() returns quickly
                name=f"devlrs:{self.port}",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread

    def stop(self) -> None:
        """Close the listening socket and cut open connections (LRS down)."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
            if server is None:
                return
            server.shutdown()
            server.server_close()
            server.cut_connections()
            if thread is not None:
                thread.join(5)


@contextmanager
def running_lrs(config: DevLrsConfig | None = None) -> Iterator[LiveLrs]:
    """A fresh devlrs (new app, store and fault plan) on 127.0.0.1, stopped after."""
    lrs = LiveLrs(config)
    lrs.start()
    try:
        yield lrs
    finally:
        lrs.stop()
