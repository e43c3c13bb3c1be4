"""Tables of the LTI edge: platforms, deployments, keys, logins, launches, sessions.

Later issues add program, learner and credential tables beside these.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects import postgresql

from lti_tool.db.base import Model, utcnow

Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


class Platform(Model):
    """An LMS registration: one (issuer, client_id) pair and its endpoints."""

    __tablename__ = "platform"
    __table_args__ = (sa.UniqueConstraint("issuer", "client_id"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(200), default="")
    issuer: orm.Mapped[str] = orm.mapped_column(sa.String(500))
    client_id: orm.Mapped[str] = orm.mapped_column(sa.String(500))
    auth_login_url: orm.Mapped[str] = orm.mapped_column(sa.String(1000))
    token_url: orm.Mapped[str] = orm.mapped_column(sa.String(1000))
    jwks_url: orm.Mapped[str] = orm.mapped_column(sa.String(1000))
    # Audience of client assertions at the token endpoint when it differs from
    # token_url (LTI Security Framework §4.1.1, some platforms name it).
    audience: orm.Mapped[str | None] = orm.mapped_column(sa.String(1000))
    created_at: orm.Mapped[datetime] = orm.mapped_column(default=utcnow)
    # None while a registration waits for an administrator (Dynamic Registration):
    # a pending platform cannot log in or launch. Every other path sets it.
    approved_at: orm.Mapped[datetime | None]
    # "dynamic" when the platform registered itself; None when an admin added it.
    registered_via: orm.Mapped[str | None] = orm.mapped_column(sa.String(20))
    # What the platform answered during Dynamic Registration, for the admin.
    registration_json: orm.Mapped[dict[str, Any] | None] = orm.mapped_column(Json)

    # JWKS cache, shared by every worker (HTTP cache headers decide its lifetime).
    jwks_json: orm.Mapped[dict[str, Any] | None] = orm.mapped_column(Json)
    jwks_etag: orm.Mapped[str | None] = orm.mapped_column(sa.String(500))
    jwks_fetched_at: orm.Mapped[datetime | None]
    jwks_expires_at: orm.Mapped[datetime | None]
    jwks_refetched_at: orm.Mapped[datetime | None]

    deployments: orm.Mapped[list[Deployment]] = orm.relationship(
        back_populates="platform",
        cascade="all, delete-orphan",
        order_by="Deployment.deployment_id",
    )


class Deployment(Model):
    """A deployment id the platform uses for tierpath (LTI Core §3.1.3)."""

    __tablename__ = "deployment"
    __table_args__ = (sa.UniqueConstraint("platform_id", "deployment_id"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    platform_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("platform.id", ondelete="CASCADE")
    )
    deployment_id: orm.Mapped[str] = orm.mapped_column(sa.String(255))
    created_at: orm.Mapped[datetime] = orm.mapped_column(default=utcnow)

    platform: orm.Mapped[Platform] = orm.relationship(back_populates="deployments")


class SigningKey(Model):
    """A tool key pair; the private half is encrypted with the key-encryption key."""

    __tablename__ = "signing_key"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    purpose: orm.Mapped[str] = orm.mapped_column(sa.String(20), index=True)
    kid: orm.Mapped[str] = orm.mapped_column(sa.String(100), unique=True)
    algorithm: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    public_jwk: orm.Mapped[dict[str, Any]] = orm.mapped_column(Json)
    private_key_encrypted: orm.Mapped[bytes] = orm.mapped_column(sa.LargeBinary)
    # next → current → retired
    state: orm.Mapped[str] = orm.mapped_column(sa.String(10))
    created_at: orm.Mapped[datetime] = orm.mapped_column(default=utcnow)
    activated_at: orm.Mapped[datetime | None]
    retired_at: orm.Mapped[datetime | None]


class LoginState(Model):
    """An OIDC login in flight: the state we issued and the nonce bound to it."""

    __tablename__ = "login_state"

    state: orm.Mapped[str] = orm.mapped_column(sa.String(100), primary_key=True)
    nonce: orm.Mapped[str] = orm.mapped_column(sa.String(100), unique=True)
    platform_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("platform.id", ondelete="CASCADE")
    )
    target_link_uri: orm.Mapped[str] = orm.mapped_column(sa.String(2000))
    # The login request's own parameters, to restart it in a new window.
    login_params: orm.Mapped[dict[str, str]] = orm.mapped_column(Json)
    # LTI Platform Storage: the frame the LMS named (lti_storage_target) that
    # keeps our state for us when the browser does not keep cookies.
    storage_target: orm.Mapped[str | None] = orm.mapped_column(sa.String(100))
    created_at: orm.Mapped[datetime]
    expires_at: orm.Mapped[datetime] = orm.mapped_column(index=True)
    consumed_at: orm.Mapped[datetime | None]


class LmsUser(Model):
    """A person as one platform knows them (platform + LTI `sub`)."""

    __tablename__ = "lms_user"
    __table_args__ = (sa.UniqueConstraint("platform_id", "sub"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    platform_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("platform.id", ondelete="CASCADE")
    )
    sub: orm.Mapped[str] = orm.mapped_column(sa.String(255))
    name: orm.Mapped[str | None] = orm.mapped_column(sa.String(300))
    given_name: orm.Mapped[str | None] = orm.mapped_column(sa.String(200))
    family_name: orm.Mapped[str | None] = orm.mapped_column(sa.String(200))
    email: orm.Mapped[str | None] = orm.mapped_column(sa.String(320))
    person_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    # None for someone the roster (NRPS) lists who never launched tierpath.
    first_launch_at: orm.Mapped[datetime | None]
    last_launch_at: orm.Mapped[datetime | None]


class LmsContext(Model):
    """A course (LTI context) on a platform."""

    __tablename__ = "lms_context"
    __table_args__ = (sa.UniqueConstraint("platform_id", "context_id"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    platform_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("platform.id", ondelete="CASCADE")
    )
    context_id: orm.Mapped[str] = orm.mapped_column(sa.String(255))
    title: orm.Mapped[str | None] = orm.mapped_column(sa.String(500))
    label: orm.Mapped[str | None] = orm.mapped_column(sa.String(200))


class ToolSession(Model):
    """A browser's server-side session; the cookie holds a token, we keep its hash."""

    __tablename__ = "tool_session"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    token_hash: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True)
    csrf_token: orm.Mapped[str] = orm.mapped_column(sa.String(64))
    created_at: orm.Mapped[datetime]
    expires_at: orm.Mapped[datetime] = orm.mapped_column(index=True)

    launches: orm.Mapped[list[Launch]] = orm.relationship(
        back_populates="session", cascade="all, delete-orphan"
    )


class Launch(Model):
    """A validated launch, kept server-side with a TTL and bound to one session."""

    __tablename__ = "launch"

    id: orm.Mapped[str] = orm.mapped_column(sa.String(64), primary_key=True)
    session_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("tool_session.id", ondelete="CASCADE"), index=True
    )
    platform_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("platform.id", ondelete="CASCADE")
    )
    deployment_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("deployment.id", ondelete="CASCADE")
    )
    user_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("lms_user.id", ondelete="CASCADE")
    )
    context_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("lms_context.id", ondelete="CASCADE")
    )
    message_type: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    role: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    target_link_uri: orm.Mapped[str] = orm.mapped_column(sa.String(2000))
    claims: orm.Mapped[dict[str, Any]] = orm.mapped_column(Json)
    created_at: orm.Mapped[datetime]
    expires_at: orm.Mapped[datetime] = orm.mapped_column(index=True)

    session: orm.Mapped[ToolSession] = orm.relationship(back_populates="launches")
    platform: orm.Mapped[Platform] = orm.relationship()
    deployment: orm.Mapped[Deployment] = orm.relationship()
    user: orm.Mapped[LmsUser] = orm.relationship()
    context: orm.Mapped[LmsContext | None] = orm.relationship()


class Person(Model):
    """An employee as HR knows them; linked to LMS users by email or employee id."""

    __tablename__ = "person"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    employee_id: orm.Mapped[str] = orm.mapped_column(sa.String(100), unique=True)
    email: orm.Mapped[str | None] = orm.mapped_column(sa.String(320), index=True)
    name: orm.Mapped[str | None] = orm.mapped_column(sa.String(300))
    site: orm.Mapped[str | None] = orm.mapped_column(sa.String(200))
    line_of_business: orm.Mapped[str | None] = orm.mapped_column(sa.String(200))
    hire_date: orm.Mapped[date | None] = orm.mapped_column(sa.Date)
    disciplinary_action: orm.Mapped[bool] = orm.mapped_column(default=False)
    performance_improvement_plan: orm.Mapped[bool] = orm.mapped_column(default=False)
    review_score: orm.Mapped[float | None]
    review_scale: orm.Mapped[float | None]
    updated_at: orm.Mapped[datetime]

    kpis: orm.Mapped[list[KpiValue]] = orm.relationship(
        back_populates="person", cascade="all, delete-orphan"
    )


class KpiValue(Model):
    """One KPI value (percent) of a person for a period such as 2026-Q3."""

    __tablename__ = "kpi_value"
    __table_args__ = (
        sa.UniqueConstraint("person_id", "kpi", "period"),
        sa.Index("ix_kpi_value_kpi_period", "kpi", "period"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    person_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("person.id", ondelete="CASCADE")
    )
    kpi: orm.Mapped[str] = orm.mapped_column(sa.String(50))
    period: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    value: orm.Mapped[float]

    person: orm.Mapped[Person] = orm.relationship(back_populates="kpis")


class ProgramVersion(Model):
    """One immutable version of a program, with the source files it was loaded from."""

    __tablename__ = "program_version"
    __table_args__ = (sa.UniqueConstraint("program_id", "version"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    program_id: orm.Mapped[str] = orm.mapped_column(sa.String(100), index=True)
    version: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    title: orm.Mapped[str] = orm.mapped_column(sa.String(300))
    content_hash: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True)
    # {"main": "file.toml", "files": {"file.toml": "...text...", "banks/x.toml": "..."}}
    # Deferred: the files are only read to parse a version not yet cached
    # (services.programs.program_of); every other load skips them.
    source: orm.Mapped[dict[str, Any]] = orm.mapped_column(Json, deferred=True)
    is_current: orm.Mapped[bool] = orm.mapped_column(default=True)
    loaded_at: orm.Mapped[datetime]


class ContextProgram(Model):
    """A program offered in an LMS course (context)."""

    __tablename__ = "context_program"
    __table_args__ = (sa.UniqueConstraint("context_id", "program_id"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    context_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("lms_context.id", ondelete="CASCADE")
    )
    program_id: orm.Mapped[str] = orm.mapped_column(sa.String(100))


class Enrolment(Model):
    """A person in one tier of one program version; its id is the xAPI registration."""

    __tablename__ = "enrolment"
    __table_args__ = (
        sa.UniqueConstraint("person_id", "program_version_id", "tier_id"),
    )

    id: orm.Mapped[str] = orm.mapped_column(sa.String(36), primary_key=True)
    person_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    program_version_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("program_version.id", ondelete="RESTRICT")
    )
    tier_id: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    state: orm.Mapped[str] = orm.mapped_column(sa.String(20))  # in_progress | completed
    started_at: orm.Mapped[datetime]
    completed_at: orm.Mapped[datetime | None]
    expires_at: orm.Mapped[datetime | None]
    started_reason: orm.Mapped[str] = orm.mapped_column(sa.String(30))

    program_version: orm.Mapped[ProgramVersion] = orm.relationship()


class EligibilityDecisionRecord(Model):
    """A stored eligibility decision: result, reasons, inputs, rule version, date."""

    __tablename__ = "eligibility_decision"
    __table_args__ = (
        sa.Index(
            "ix_eligibility_decision_lookup",
            "person_id",
            "program_version_id",
            "tier_id",
        ),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    person_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("person.id", ondelete="CASCADE")
    )
    program_version_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("program_version.id", ondelete="CASCADE")
    )
    tier_id: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    as_of: orm.Mapped[date] = orm.mapped_column(sa.Date)
    eligible: orm.Mapped[bool]
    rule_version: orm.Mapped[str] = orm.mapped_column(sa.String(64))
    decision: orm.Mapped[dict[str, Any]] = orm.mapped_column(Json)
    decided_at: orm.Mapped[datetime]


class KpiGroupStat(Model):
    """Peer statistics of one KPI for one group and period (recomputed on import)."""

    __tablename__ = "kpi_group_stat"
    __table_args__ = (sa.UniqueConstraint("kpi", "period", "group_key"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    kpi: orm.Mapped[str] = orm.mapped_column(sa.String(50))
    period: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    group_key: orm.Mapped[str] = orm.mapped_column(sa.String(500))
    stats: orm.Mapped[dict[str, Any]] = orm.mapped_column(Json)


class Attempt(Model):
    """One pre- or post-test attempt, with the order it was presented in."""

    __tablename__ = "attempt"
    __table_args__ = (
        sa.Index("ix_attempt_lookup", "enrolment_id", "module_id", "kind"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    enrolment_id: orm.Mapped[str] = orm.mapped_column(
        sa.ForeignKey("enrolment.id", ondelete="CASCADE")
    )
    person_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    module_id: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    kind: orm.Mapped[str] = orm.mapped_column(sa.String(10))  # pre | post
    attempt_number: orm.Mapped[int]
    form_id: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    # [{"item_id": ..., "choice_ids": [...]}, ...] as shown
    presented: orm.Mapped[list[dict[str, Any]]] = orm.mapped_column(Json)
    started_at: orm.Mapped[datetime]
    submitted_at: orm.Mapped[datetime | None]
    points: orm.Mapped[float | None]
    max_points: orm.Mapped[float | None]
    passed: orm.Mapped[bool | None]

    responses: orm.Mapped[list[Response]] = orm.relationship(
        back_populates="attempt", cascade="all, delete-orphan"
    )


class Response(Model):
    """One answered item of an attempt."""

    __tablename__ = "response"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    attempt_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("attempt.id", ondelete="CASCADE"), index=True
    )
    item_id: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    answer: orm.Mapped[list[str]] = orm.mapped_column(Json)
    points: orm.Mapped[float]
    max_points: orm.Mapped[float]

    attempt: orm.Mapped[Attempt] = orm.relationship(back_populates="responses")


class ModuleProgress(Model):
    """When a learner opened a module's content and completed it."""

    __tablename__ = "module_progress"
    __table_args__ = (sa.UniqueConstraint("enrolment_id", "module_id"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    enrolment_id: orm.Mapped[str] = orm.mapped_column(
        sa.ForeignKey("enrolment.id", ondelete="CASCADE")
    )
    module_id: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    studied_at: orm.Mapped[datetime | None]
    completed_at: orm.Mapped[datetime | None]


class RequirementSignoff(Model):
    """An instructor's sign-off of a tier requirement (mentoring placeholder)."""

    __tablename__ = "requirement_signoff"
    __table_args__ = (sa.UniqueConstraint("enrolment_id", "requirement_id"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    enrolment_id: orm.Mapped[str] = orm.mapped_column(
        sa.ForeignKey("enrolment.id", ondelete="CASCADE")
    )
    requirement_id: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    signed_by_user_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("lms_user.id", ondelete="RESTRICT")
    )
    signed_at: orm.Mapped[datetime]


class Membership(Model):
    """A user's role in a course, from launches and roster syncs (outlives launches)."""

    __tablename__ = "membership"
    __table_args__ = (sa.UniqueConstraint("context_id", "user_id"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    context_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("lms_context.id", ondelete="CASCADE")
    )
    user_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("lms_user.id", ondelete="CASCADE"), index=True
    )
    role: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    last_launch_at: orm.Mapped[datetime | None]
    # From the LMS roster (NRPS): Active / Inactive / Deleted, and when.
    roster_status: orm.Mapped[str | None] = orm.mapped_column(sa.String(20))
    roster_synced_at: orm.Mapped[datetime | None]

    user: orm.Mapped[LmsUser] = orm.relationship()


# --- xAPI: local statement store, outbox, LRS targets, read-API clients --------

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class LrsTarget(Model):
    """An external LRS tierpath forwards statements to (credentials sealed)."""

    __tablename__ = "lrs_target"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(100), unique=True)
    endpoint: orm.Mapped[str] = orm.mapped_column(sa.String(1000))
    username: orm.Mapped[str] = orm.mapped_column(sa.String(500))
    # AES-256-GCM under the key-encryption key (associated data: "lrs:<name>").
    password_sealed: orm.Mapped[bytes] = orm.mapped_column(sa.LargeBinary)
    batch_size: orm.Mapped[int] = orm.mapped_column(default=100)
    enabled: orm.Mapped[bool] = orm.mapped_column(default=True)
    # Set when the LRS refused our credentials (401/403): delivery stops until
    # an admin resumes it.
    paused_at: orm.Mapped[datetime | None]
    paused_reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    last_error: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    last_error_at: orm.Mapped[datetime | None]
    last_success_at: orm.Mapped[datetime | None]
    created_at: orm.Mapped[datetime]


class StoredStatement(Model):
    """A statement tierpath recorded: the local store, source for reports."""

    __tablename__ = "xapi_statement"
    __table_args__ = (
        sa.Index("ix_xapi_statement_stored", "stored", "seq"),
        sa.Index("ix_xapi_statement_verb", "verb", "stored"),
        sa.Index("ix_xapi_statement_activity", "activity", "stored"),
        sa.Index("ix_xapi_statement_agent", "agent", "stored"),
        sa.Index("ix_xapi_statement_registration", "registration", "stored"),
    )

    seq: orm.Mapped[int] = orm.mapped_column(BigId, primary_key=True)
    id: orm.Mapped[str] = orm.mapped_column(sa.String(36), unique=True)
    # The domain record it was made from ("attempt:12"), for tracing.
    source: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    person_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    # Filter keys (xAPI Communication 2.1.3): the actor's IFI, verb, object id.
    agent: orm.Mapped[str] = orm.mapped_column(sa.String(1100))
    verb: orm.Mapped[str] = orm.mapped_column(sa.String(500))
    activity: orm.Mapped[str | None] = orm.mapped_column(sa.String(1000))
    registration: orm.Mapped[str | None] = orm.mapped_column(sa.String(36))
    timestamp: orm.Mapped[datetime]
    stored: orm.Mapped[datetime]
    voided: orm.Mapped[bool] = orm.mapped_column(default=False)
    payload: orm.Mapped[dict[str, Any]] = orm.mapped_column(Json)


class OutboxEntry(Model):
    """One statement waiting for (or done with) one LRS target."""

    __tablename__ = "xapi_outbox"
    __table_args__ = (
        sa.UniqueConstraint("statement_id", "target_id"),
        sa.Index("ix_xapi_outbox_due", "target_id", "status", "next_attempt_at"),
    )

    id: orm.Mapped[int] = orm.mapped_column(BigId, primary_key=True)
    statement_id: orm.Mapped[str] = orm.mapped_column(
        sa.ForeignKey("xapi_statement.id", ondelete="CASCADE")
    )
    target_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("lrs_target.id", ondelete="CASCADE")
    )
    status: orm.Mapped[str] = orm.mapped_column(sa.String(10))  # pending|sent|dead
    attempts: orm.Mapped[int] = orm.mapped_column(default=0)
    next_attempt_at: orm.Mapped[datetime]
    # A worker's claim: other workers leave the row alone until it lapses (a
    # killed worker's rows come back after the lease).
    lease_until: orm.Mapped[datetime | None]
    leased_by: orm.Mapped[str | None] = orm.mapped_column(sa.String(100))
    last_status: orm.Mapped[int | None]
    last_error: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    created_at: orm.Mapped[datetime]
    sent_at: orm.Mapped[datetime | None]


class XapiReadClient(Model):
    """A dashboard or tool allowed to read statements (HTTP Basic key:secret)."""

    __tablename__ = "xapi_client"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(100), unique=True)
    key: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True)
    # sha256 of the secret (the secret is 32 random bytes, shown once).
    secret_hash: orm.Mapped[str] = orm.mapped_column(sa.String(64))
    created_at: orm.Mapped[datetime]
    last_used_at: orm.Mapped[datetime | None]
    revoked_at: orm.Mapped[datetime | None]


# --- Job rotations: evidence, grades; AGS line items and score passback -------


class EvidenceSubmission(Model):
    """One submission of job-rotation evidence; a resubmission is a new row.

    `number` counts a learner's submissions for a rotation (1, 2, …); earlier
    ones stay as history. `context_id` is the course it was submitted in: the
    staff of that course grade it.
    """

    __tablename__ = "evidence_submission"
    __table_args__ = (
        sa.UniqueConstraint("enrolment_id", "rotation_id", "number"),
        sa.Index("ix_evidence_submission_queue", "context_id", "submitted_at"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    enrolment_id: orm.Mapped[str] = orm.mapped_column(
        sa.ForeignKey("enrolment.id", ondelete="CASCADE")
    )
    person_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    rotation_id: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    number: orm.Mapped[int]
    context_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("lms_context.id", ondelete="SET NULL")
    )
    submitted_by_user_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("lms_user.id", ondelete="RESTRICT")
    )
    submitted_at: orm.Mapped[datetime]
    # Indexes of the rotation's checklist tasks the learner ticked.
    checklist: orm.Mapped[list[int]] = orm.mapped_column(Json)
    note: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    link: orm.Mapped[str | None] = orm.mapped_column(sa.String(2000))
    call_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(100))
    ticket_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(100))

    files: orm.Mapped[list[EvidenceFileRecord]] = orm.relationship(
        back_populates="submission",
        cascade="all, delete-orphan",
        order_by="EvidenceFileRecord.id",
    )
    grades: orm.Mapped[list[RotationGrade]] = orm.relationship(
        back_populates="submission",
        cascade="all, delete-orphan",
        order_by="RotationGrade.id",
    )
    enrolment: orm.Mapped[Enrolment] = orm.relationship()


class EvidenceFileRecord(Model):
    """A file of a submission: the bytes live in the blob store by sha256."""

    __tablename__ = "evidence_file"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    submission_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("evidence_submission.id", ondelete="CASCADE"), index=True
    )
    sha256: orm.Mapped[str] = orm.mapped_column(sa.String(64), index=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    content_type: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    size: orm.Mapped[int]

    submission: orm.Mapped[EvidenceSubmission] = orm.relationship(
        back_populates="files"
    )


class RotationGrade(Model):
    """A rubric grade of a submission by one rater; a re-grade is a new revision.

    `rater` is "primary" (counts) or "second" (a calibration sample). The
    unique key makes two graders racing for the same revision collide.
    """

    __tablename__ = "rotation_grade"
    __table_args__ = (sa.UniqueConstraint("submission_id", "rater", "revision"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    submission_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("evidence_submission.id", ondelete="CASCADE")
    )
    rater: orm.Mapped[str] = orm.mapped_column(sa.String(10))  # primary | second
    revision: orm.Mapped[int]
    grader_user_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("lms_user.id", ondelete="RESTRICT"), index=True
    )
    graded_at: orm.Mapped[datetime]
    # {criterion id: index of the chosen level}
    levels: orm.Mapped[dict[str, int]] = orm.mapped_column(Json)
    points: orm.Mapped[float]
    max_points: orm.Mapped[float]
    passed: orm.Mapped[bool]
    comment: orm.Mapped[str | None] = orm.mapped_column(sa.Text)

    submission: orm.Mapped[EvidenceSubmission] = orm.relationship(
        back_populates="grades"
    )


class LineItemLink(Model):
    """An AGS line item we found or created in a course, by resourceId and tag."""

    __tablename__ = "ags_line_item"
    __table_args__ = (sa.UniqueConstraint("lineitems_url", "resource_id", "tag"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    platform_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("platform.id", ondelete="CASCADE")
    )
    lineitems_url: orm.Mapped[str] = orm.mapped_column(sa.String(1000))
    resource_id: orm.Mapped[str] = orm.mapped_column(sa.String(300))
    tag: orm.Mapped[str] = orm.mapped_column(sa.String(50))
    url: orm.Mapped[str] = orm.mapped_column(sa.String(1000))
    label: orm.Mapped[str] = orm.mapped_column(sa.String(300))
    score_maximum: orm.Mapped[float]
    created_at: orm.Mapped[datetime]


class ScorePassback(Model):
    """A score waiting to be posted to an LMS gradebook (AGS), or done with.

    Written in the transaction of the grade or attempt; a worker posts it
    after commit, in order per learner, with retries. `payload` is the AGS
    score body without userId; `line_item` the line item to find or create.
    """

    __tablename__ = "ags_score"
    __table_args__ = (
        sa.Index("ix_ags_score_due", "status", "next_attempt_at"),
        sa.Index("ix_ags_score_learner", "platform_id", "user_sub", "id"),
    )

    id: orm.Mapped[int] = orm.mapped_column(BigId, primary_key=True)
    platform_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("platform.id", ondelete="CASCADE")
    )
    lineitems_url: orm.Mapped[str] = orm.mapped_column(sa.String(1000))
    scopes: orm.Mapped[list[str]] = orm.mapped_column(Json)
    # {"resourceId", "tag", "label", "scoreMaximum", "resourceLinkId"?, "submissionReview"?}
    line_item: orm.Mapped[dict[str, Any]] = orm.mapped_column(Json)
    user_sub: orm.Mapped[str] = orm.mapped_column(sa.String(255))
    payload: orm.Mapped[dict[str, Any]] = orm.mapped_column(Json)
    source: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    status: orm.Mapped[str] = orm.mapped_column(sa.String(10))  # pending|sent|dead
    attempts: orm.Mapped[int] = orm.mapped_column(default=0)
    next_attempt_at: orm.Mapped[datetime]
    lease_until: orm.Mapped[datetime | None]
    leased_by: orm.Mapped[str | None] = orm.mapped_column(sa.String(100))
    last_status: orm.Mapped[int | None]
    last_error: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    created_at: orm.Mapped[datetime]
    sent_at: orm.Mapped[datetime | None]


# --- Open Badges: issued credentials and their revocation status lists ----------


class BadgeStatusList(Model):
    """A revocation Bitstring Status List; credentials take the next free index."""

    __tablename__ = "badge_status_list"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    purpose: orm.Mapped[str] = orm.mapped_column(sa.String(20), default="revocation")
    size_bits: orm.Mapped[int]
    next_index: orm.Mapped[int] = orm.mapped_column(default=0)
    created_at: orm.Mapped[datetime]
    # The last signed BitstringStatusListCredential; cleared when a bit changes.
    signed_document: orm.Mapped[dict[str, Any] | None] = orm.mapped_column(Json)


class BadgeCredential(Model):
    """One signed OB 3.0 credential for a learner's completed tier.

    One live credential per enrolment (program version + tier): issuing is
    idempotent; a correction revokes it (status bit) and issues a new one.
    """

    __tablename__ = "badge_credential"
    __table_args__ = (
        sa.UniqueConstraint("status_list_id", "status_index"),
        sa.Index("ix_badge_credential_enrolment", "enrolment_id", "revoked_at"),
        # At most one live credential per enrolment, even with racing issuers.
        sa.Index(
            "uq_badge_credential_live",
            "enrolment_id",
            unique=True,
            sqlite_where=sa.text("revoked_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL"),
        ),
    )

    id: orm.Mapped[str] = orm.mapped_column(sa.String(36), primary_key=True)
    enrolment_id: orm.Mapped[str] = orm.mapped_column(
        sa.ForeignKey("enrolment.id", ondelete="RESTRICT")
    )
    person_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("person.id", ondelete="RESTRICT"), index=True
    )
    program_id: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    tier_id: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    status_list_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("badge_status_list.id", ondelete="RESTRICT")
    )
    status_index: orm.Mapped[int]
    issued_at: orm.Mapped[datetime]
    valid_until: orm.Mapped[datetime | None]
    revoked_at: orm.Mapped[datetime | None]
    revoked_reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    revoked_by: orm.Mapped[str | None] = orm.mapped_column(sa.String(300))
    # A correction re-issues: the old credential names its replacement.
    replaced_by: orm.Mapped[str | None] = orm.mapped_column(sa.String(36))
    # The signed credential exactly as issued (JSON-LD with its proof).
    document: orm.Mapped[dict[str, Any]] = orm.mapped_column(Json)
