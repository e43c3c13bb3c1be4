"""Scores for the LMS gradebook (AGS): queued in the unit of work, posted after commit.

`PassbackQueue` is an EventSink bound to the launch the request acts under (its
AGS endpoint claim names the course's line-item container): an assessment
attempt becomes a FullyGraded score on the module's pre- or post-test line
item, submitted evidence a Submitted/PendingManual score on the rotation's line
item, a primary grade a FullyGraded score with the comment. The rows are posted
by `tierpath ags deliver` (or the in-process poster), in order per learner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from lti_tool.db.models import (
    Enrolment,
    LmsUser,
    Platform,
    RotationGrade,
    ScorePassback,
)
from lti_tool.domain.events import (
    AssessmentAttempted,
    EvidenceGraded,
    EvidenceSubmitted,
)
from lti_tool.services.ports import DomainEvent
from lti_tool.services.programs import program_of

CLAIM_AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
CLAIM_RESOURCE_LINK = "https://purl.imsglobal.org/spec/lti/claim/resource_link"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"


@dataclass(frozen=True)
class GradebookTarget:
    """Where a course's scores go: the AGS line-item container of a launch."""

    platform_id: int
    lineitems_url: str
    scopes: tuple[str, ...]
    resource_link_id: str | None

    @classmethod
    def from_claims(
        cls, platform_id: int, claims: dict[str, Any]
    ) -> GradebookTarget | None:
        """The launch's gradebook, if the LMS offered line items and scores."""
        ags = claims.get(CLAIM_AGS)
        if not isinstance(ags, dict):
            return None
        url = ags.get("lineitems")
        scopes = ags.get("scope")
        if not isinstance(url, str) or not isinstance(scopes, list):
            return None
        if SCOPE_SCORE not in scopes or SCOPE_LINEITEM not in scopes:
            return None  # we must find or create our own line items
        link = claims.get(CLAIM_RESOURCE_LINK)
        link_id = link.get("id") if isinstance(link, dict) else None
        return cls(
            platform_id,
            url,
            tuple(str(s) for s in scopes),
            str(link_id) if link_id else None,
        )


def timestamp(moment: datetime) -> str:
    """AGS timestamp: ISO 8601 with sub-second precision (Canvas wants it)."""
    return moment.isoformat(timespec="microseconds")


class PassbackQueue:
    """EventSink: queue the gradebook score of each graded event (no network here)."""

    def __init__(
        self,
        session: orm.Session,
        target: GradebookTarget | None,
        review_url: str | None = None,
    ) -> None:
        self._session = session
        self._target = target
        self._review_url = review_url

    def publish(self, event: DomainEvent) -> None:
        if self._target is None:
            return
        if isinstance(event, AssessmentAttempted):
            self._assessment(event)
        elif isinstance(event, EvidenceSubmitted):
            self._submitted(event)
        elif isinstance(event, EvidenceGraded) and event.rater == "primary":
            self._graded(event)

    def _learner_sub(self, person_id: int) -> str | None:
        assert self._target is not None
        return self._session.scalar(
            sa.select(LmsUser.sub)
            .where(
                LmsUser.platform_id == self._target.platform_id,
                LmsUser.person_id == person_id,
            )
            .order_by(LmsUser.last_launch_at.desc().nulls_last(), LmsUser.id.desc())
            .limit(1)
        )

    def _queue(
        self,
        person_id: int,
        line_item: dict[str, Any],
        score: dict[str, Any],
        source: str,
        now: datetime,
    ) -> None:
        target = self._target
        assert target is not None
        sub = self._learner_sub(person_id)
        if sub is None:
            return  # never launched from this LMS: it has no gradebook row for them
        if target.resource_link_id:
            line_item.setdefault("resourceLinkId", target.resource_link_id)
        self._session.add(
            ScorePassback(
                platform_id=target.platform_id,
                lineitems_url=target.lineitems_url,
                scopes=list(target.scopes),
                line_item=line_item,
                user_sub=sub,
                payload=score,
                source=source,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )

    def _enrolment(self, enrolment_id: str) -> Enrolment:
        enrolment = self._session.get(Enrolment, enrolment_id)
        assert enrolment is not None
        return enrolment

    def _assessment(self, event: AssessmentAttempted) -> None:
        program = program_of(self._enrolment(event.enrolment_id).program_version)
        _, module = program.module(event.module_id)
        phase = "pre-test" if event.kind == "pre" else "post-test"
        self._queue(
            event.person_id,
            {
                "resourceId": f"{program.id}/{event.tier_id}/{module.id}/{event.kind}",
                "tag": phase,
                "label": f"{module.title}: {phase}",
                "scoreMaximum": event.max_points,
            },
            {
                "scoreGiven": event.points,
                "scoreMaximum": event.max_points,
                "activityProgress": "Completed",
                "gradingProgress": "FullyGraded",
                "timestamp": timestamp(event.occurred_at),
            },
            f"attempt:{event.attempt_id}",
            event.occurred_at,
        )

    def _rotation_item(self, enrolment_id: str, rotation_id: str) -> dict[str, Any]:
        enrolment = self._enrolment(enrolment_id)
        program = program_of(enrolment.program_version)
        rotation = next(
            r for r in program.tier(enrolment.tier_id).rotations if r.id == rotation_id
        )
        item: dict[str, Any] = {
            "resourceId": f"{program.id}/{enrolment.tier_id}/rotation/{rotation.id}",
            "tag": "rotation",
            "label": f"Job rotation: {rotation.title}",
            "scoreMaximum": rotation.max_points,
        }
        if self._review_url:
            item["submissionReview"] = {
                "reviewableStatus": ["Submitted", "Completed"],
                "label": "Open the evidence in tierpath",
                "url": self._review_url,
            }
        return item

    def _submitted(self, event: EvidenceSubmitted) -> None:
        item = self._rotation_item(event.enrolment_id, event.rotation_id)
        self._queue(
            event.person_id,
            item,
            {
                "scoreMaximum": item["scoreMaximum"],
                "activityProgress": "Submitted",
                "gradingProgress": "PendingManual",
                "timestamp": timestamp(event.occurred_at),
                "submission": {"submittedAt": timestamp(event.occurred_at)},
            },
            f"evidence:{event.submission_id}",
            event.occurred_at,
        )

    def _graded(self, event: EvidenceGraded) -> None:
        item = self._rotation_item(event.enrolment_id, event.rotation_id)
        grade = self._session.get(RotationGrade, event.grade_id)
        assert grade is not None
        score: dict[str, Any] = {
            "scoreGiven": event.points,
            "scoreMaximum": event.max_points,
            "activityProgress": "Completed",
            "gradingProgress": "FullyGraded",
            "timestamp": timestamp(event.occurred_at),
        }
        if grade.comment:
            score["comment"] = grade.comment
        self._queue(
            event.person_id,
            item,
            score,
            f"grade:{event.grade_id}",
            event.occurred_at,
        )


# -- the store the poster works from -------------------------------------------------


@dataclass(frozen=True)
class DueScore:
    """A claimed score row, detached from the session."""

    id: int
    platform_id: int
    lineitems_url: str
    scopes: list[str]
    line_item: dict[str, Any]
    user_sub: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


def claim_due(
    factory: orm.sessionmaker[orm.Session],
    worker: str,
    now: datetime,
    lease: timedelta,
    limit: int,
) -> list[DueScore]:
    """Claim due rows, only the oldest pending row of each learner (scores in order).

    On PostgreSQL the rows are locked with SKIP LOCKED so workers never
    claim the same row; a killed worker's claim lapses after `lease`.
    """
    earlier = sa.orm.aliased(ScorePassback)
    with factory() as session:
        query = (
            sa.select(ScorePassback)
            .where(
                ScorePassback.status == "pending",
                ScorePassback.next_attempt_at <= now,
                sa.or_(
                    ScorePassback.lease_until.is_(None),
                    ScorePassback.lease_until <= now,
                ),
                ~sa.exists().where(
                    earlier.platform_id == ScorePassback.platform_id,
                    earlier.user_sub == ScorePassback.user_sub,
                    earlier.status == "pending",
                    earlier.id < ScorePassback.id,
                ),
            )
            .order_by(ScorePassback.id)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=ScorePassback)
        rows = list(session.scalars(query))
        for row in rows:
            row.lease_until = now + lease
            row.leased_by = worker
        claimed = [
            DueScore(
                r.id,
                r.platform_id,
                r.lineitems_url,
                list(r.scopes),
                dict(r.line_item),
                r.user_sub,
                dict(r.payload),
                r.attempts,
                r.created_at,
            )
            for r in rows
        ]
        session.commit()
    return claimed


def mark_sent(session: orm.Session, row_id: int, now: datetime) -> None:
    row = session.get(ScorePassback, row_id)
    if row is None:
        return
    row.status = "sent"
    row.sent_at = now
    row.attempts += 1
    row.lease_until = None
    row.leased_by = None
    row.last_status = 200
    row.last_error = None


def mark_failed(
    session: orm.Session,
    row_id: int,
    now: datetime,
    *,
    status: int | None,
    error: str,
    retry_at: datetime | None,
) -> None:
    """Record a failure: retry at `retry_at`, or dead (kept, shown to the admin)."""
    row = session.get(ScorePassback, row_id)
    if row is None:
        return
    row.attempts += 1
    row.last_status = status
    row.last_error = error[:2000]
    row.lease_until = None
    row.leased_by = None
    if retry_at is None:
        row.status = "dead"
    else:
        row.next_attempt_at = retry_at


def resend_dead(session: orm.Session, now: datetime, row_id: int | None = None) -> int:
    """Put dead scores (one, or all) back in the queue; return how many."""
    query = sa.update(ScorePassback).where(ScorePassback.status == "dead")
    if row_id is not None:
        query = query.where(ScorePassback.id == row_id)
    result = session.execute(
        query.values(status="pending", next_attempt_at=now, attempts=0),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class PassbackStatus:
    """The gradebook queue per platform, for the admin page."""

    platform: str
    pending: int
    dead: int
    sent: int
    last_error: str | None


def passback_statuses(session: orm.Session) -> list[PassbackStatus]:
    rows = session.execute(
        sa.select(Platform.name, ScorePassback.status, sa.func.count())
        .join(Platform, Platform.id == ScorePassback.platform_id)
        .group_by(Platform.name, ScorePassback.status)
    ).all()
    counts: dict[str, dict[str, int]] = {}
    for name, status, count in rows:
        counts.setdefault(name, {})[status] = int(count)
    statuses = []
    for name, by_status in sorted(counts.items()):
        last_error = session.scalar(
            sa.select(ScorePassback.last_error)
            .join(Platform, Platform.id == ScorePassback.platform_id)
            .where(Platform.name == name, ScorePassback.last_error.is_not(None))
            .order_by(ScorePassback.id.desc())
            .limit(1)
        )
        statuses.append(
            PassbackStatus(
                name,
                by_status.get("pending", 0),
                by_status.get("dead", 0),
                by_status.get("sent", 0),
                last_error,
            )
        )
    return statuses


def dead_scores(session: orm.Session, limit: int = 50) -> list[ScorePassback]:
    return list(
        session.scalars(
            sa.select(ScorePassback)
            .where(ScorePassback.status == "dead")
            .order_by(ScorePassback.id.desc())
            .limit(limit)
        )
    )
