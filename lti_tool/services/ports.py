"""Ports the use cases need; adapters satisfy them structurally.

Later issues plug in: the xAPI statement writer and the badge issuer subscribe
to domain events through `EventSink`; the LRS client, evidence storage and key
store are further ports beside these.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

_log = logging.getLogger("lti_tool.events")

Clock = Callable[[], datetime]


class DomainEvent(Protocol):
    """Something that happened in the domain, with the time it happened."""

    @property
    def occurred_at(self) -> datetime: ...


class EventSink(Protocol):
    """Receives domain events inside the unit of work that caused them."""

    def publish(self, event: DomainEvent) -> None: ...


class RecordingEventSink:
    """Keeps every event it gets, for tests and for the demo's event log."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    def publish(self, event: DomainEvent) -> None:
        self.events.append(event)


class LoggingEventSink:
    """Logs every event; the default until xAPI and badges subscribe."""

    def publish(self, event: DomainEvent) -> None:
        _log.info("event %s %s", type(event).__name__, event)


class FanOutSink:
    """Hands every event to each sink in turn (statement writer, then the app's sink)."""

    def __init__(self, *sinks: EventSink) -> None:
        self._sinks = sinks

    def publish(self, event: DomainEvent) -> None:
        for sink in self._sinks:
            sink.publish(event)
