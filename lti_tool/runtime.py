"""The adapters one application instance runs with, built once by create_app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import orm

from lti_tool.db.base import utcnow
from lti_tool.http import TimeoutSession
from lti_tool.keys import KeyEncryptor
from lti_tool.lti.advantage import TokenCache
from lti_tool.lti.keyset import PlatformKeySets
from lti_tool.netguard import GuardedSession
from lti_tool.services.ports import BlobStore, EventSink, FanOutSink, LoggingEventSink
from lti_tool.settings import Settings
from lti_tool.storage.local_blobs import LocalBlobStore

if TYPE_CHECKING:
    from lti_tool.db.models import Launch
    from lti_tool.services.badges import Issuer

Clock = Callable[[], datetime]


@dataclass
class Runtime:
    """Settings plus the adapters built from them (engine, HTTP, keys, clock)."""

    settings: Settings
    engine: sa.Engine
    session_factory: orm.sessionmaker[orm.Session]
    http: TimeoutSession
    # For URLs nobody vouched for yet (Dynamic Registration): SSRF-guarded.
    registration_http: GuardedSession
    encryptor: KeyEncryptor
    keysets: PlatformKeySets
    clock: Clock
    events: EventSink
    blobs: BlobStore
    tokens: TokenCache

    @classmethod
    def build(
        cls,
        settings: Settings,
        engine: sa.Engine,
        clock: Clock | None = None,
        events: EventSink | None = None,
        blobs: BlobStore | None = None,
    ) -> Runtime:
        session_factory = orm.sessionmaker(bind=engine, expire_on_commit=False)
        http = TimeoutSession(settings.http_timeout)
        return cls(
            settings=settings,
            engine=engine,
            session_factory=session_factory,
            http=http,
            registration_http=GuardedSession(
                settings.http_timeout,
                allow_loopback=settings.registration.allow_loopback,
            ),
            encryptor=KeyEncryptor(settings.key_encryption_key),
            keysets=PlatformKeySets(session_factory, http, settings),
            clock=clock or utcnow,
            events=events or LoggingEventSink(),
            blobs=blobs or LocalBlobStore(Path(settings.evidence.folder)),
            tokens=TokenCache(),
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

    def tool_base(self) -> str:
        """The tool's public origin: configured, else the request's (localhost outside one)."""
        if self.settings.base_url:
            return self.settings.base_url.rstrip("/")
        if has_request_context():
            return request.host_url.rstrip("/")
        return "http://localhost"

    def badge_issuer(self) -> Issuer:
        """Who signs badges: this deployment's origin (its did:web) and name."""
        from lti_tool.services.badges import Issuer

        return Issuer(self.tool_base().lower(), self.settings.badges.issuer_name)

    def sink_for(self, session: orm.Session, launch: Launch | None = None) -> EventSink:
        """The event sink of one unit of work.

        The statement writer; with a launch whose LMS offers grade passback,
        the gradebook queue for that course; then the app's `events`.
        """
        from lti_tool.services.badges import BadgeIssuer
        from lti_tool.services.score_passback import GradebookTarget, PassbackQueue
        from lti_tool.services.xapi_recorder import StatementRecorder

        recorder = StatementRecorder(session, self.activity_base())
        sinks: list[EventSink] = [recorder]
        if launch is not None:
            target = GradebookTarget.from_claims(launch.platform_id, launch.claims)
            if target is not None:
                sinks.append(
                    PassbackQueue(session, target, f"{self.tool_base()}/grading/review")
                )
        # A completed tier gets its badge in this transaction; the badge's own
        # event goes to the statement writer and the app's sink.
        sinks.append(
            BadgeIssuer(
                session,
                self.encryptor,
                self.badge_issuer(),
                FanOutSink(recorder, self.events),
            )
        )
        sinks.append(self.events)
        return FanOutSink(*sinks)


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
