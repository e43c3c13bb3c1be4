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
    first_launch_at: orm.Mapped[datetime]
    last_launch_at: orm.Mapped[datetime]


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
