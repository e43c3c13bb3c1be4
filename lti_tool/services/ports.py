"""Ports the use cases need; adapters satisfy them structurally.

Later issues plug in: the xAPI statement writer and the badge issuer subscribe
to domain events through `EventSink`; the LRS client, evidence storage and key
store are further ports beside these.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol

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


class BlobNotFoundError(LookupError):
    """No blob is stored under the given sha256."""


@dataclass(frozen=True)
class StoredBlob:
    """A reference to stored bytes: their sha256 (64 lowercase hex digits), size."""

    sha256: str
    size: int


class BlobStore(Protocol):
    """Content-addressed storage for uploaded evidence files.

    A blob is named by the sha256 of its bytes, so storing the same bytes twice
    stores them once and returns the same reference. Every method refuses an id
    that is not 64 lowercase hex digits with ValueError. `LocalBlobStore` (in
    ``lti_tool.storage.local_blobs``) keeps blobs on disk; an S3-compatible
    store can implement the same protocol with the sha256 as the object key.
    """

    def put(self, data: bytes) -> StoredBlob:
        """Store the bytes (a no-op if already stored) and return their reference."""
        ...

    def open(self, sha256: str) -> BinaryIO:
        """Return the blob for reading; raises `BlobNotFoundError` if missing."""
        ...

    def exists(self, sha256: str) -> bool:
        """Whether a blob is stored under the id."""
        ...

    def size(self, sha256: str) -> int:
        """The blob's size in bytes; raises `BlobNotFoundError` if missing."""
        ...
