"""The adapters one application instance runs with, built once by create_app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import orm

from lti_tool.db.base import utcnow
from lti_tool.http import TimeoutSession
from lti_tool.keys import KeyEncryptor
from lti_tool.lti.keyset import PlatformKeySets
from lti_tool.services.ports import EventSink, FanOutSink, LoggingEventSink
from lti_tool.settings import Settings

Clock = Callable[[], datetime]


@dataclass
class Runtime:
    """Settings plus the adapters built from them (engine, HTTP, keys, clock)."""

    settings: Settings
    engine: sa.Engine
    session_factory: orm.sessionmaker[orm.Session]
    http: TimeoutSession
    encryptor: KeyEncryptor
    keysets: PlatformKeySets
    clock: Clock
    events: EventSink

    @classmethod
    def build(
        cls,
        settings: Settings,
        engine: sa.Engine,
        clock: Clock | None = None,
        events: EventSink | None = None,
    ) -> Runtime:
        session_factory = orm.sessionmaker(bind=engine, expire_on_commit=False)
        http = TimeoutSession(settings.http_timeout)
        return cls(
            settings=settings,
            engine=engine,
            session_factory=session_factory,
            http=http,
            encryptor=KeyEncryptor(settings.key_encryption_key),
            keysets=PlatformKeySets(session_factory, http, settings),
            clock=clock or utcnow,
            events=events or LoggingEventSink(),
        )

    def activity_base(self) -> str:
        """The IRI base of xAPI activity ids: configured, else the public origin.

        Without TIERPATH_XAPI_ACTIVITY_BASE or TIERPATH_BASE_URL the request's
        origin is used (right for one host); outside a request, localhost.
        """
        configured = self.settings.xapi.activity_base or self.settings.base_url
        if configured:
            return configured
        if has_request_context():
            return request.host_url.rstrip("/")
        return "http://localhost"

    def sink_for(self, session: orm.Session) -> EventSink:
        """The event sink of one unit of work: the statement writer, then `events`."""
        from lti_tool.services.xapi_recorder import StatementRecorder

        return FanOutSink(StatementRecorder(session, self.activity_base()), self.events)


def runtime(app: Flask | None = None) -> Runtime:
    """Return the runtime of `app` (or of the current app)."""
    target = app or current_app
    value = target.extensions["tierpath"]
    assert isinstance(value, Runtime)
    return value


def db() -> orm.Session:
    """Return this request's database session (one per request, closed at teardown)."""
    if "db" not in g:
        g.db = runtime().session_factory()
    session = g.db
    assert isinstance(session, orm.Session)
    return session


def close_db(_exc: BaseException | None = None) -> None:
    """Roll back anything uncommitted and close the request's session."""
    session = g.pop("db", None)
    if session is not None:
        session.close()
