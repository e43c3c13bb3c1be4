"""A worker loop run on a daemon thread inside the web process (the demo's choice).

Production runs the same loops as their own processes (`tierpath xapi deliver`,
`tierpath ags deliver`); small hosts and the demo start them in process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

_log = logging.getLogger("lti_tool.background")


class Loop(Protocol):
    """What runs on the thread: rounds until `stop` is set, idling `interval` s."""

    def run_forever(self, stop: threading.Event, interval: float) -> None: ...


class BackgroundWorker:
    """One daemon thread running a loop; started once, stopped with the process."""

    def __init__(self, name: str, build: Callable[[], Loop], interval: float) -> None:
        self._name = name
        self._build = build
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            loop = self._build()
            self._thread = threading.Thread(
                target=loop.run_forever,
                args=(self._stop, self._interval),
                name=self._name,
                daemon=True,
            )
            self._thread.start()
        _log.info("in-process %s started", self._name)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


def run_until_signalled(loop: Loop, interval: float) -> None:
    """Run a worker loop in the foreground until SIGTERM or Ctrl-C.

    The round in flight finishes first (`tierpath xapi deliver`,
    `tierpath ags deliver`).
    """
    import signal
    from types import FrameType

    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    loop.run_forever(stop, interval)
