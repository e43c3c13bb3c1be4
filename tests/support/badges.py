"""Reading the badges the tests issued (see the `earned` fixture in tests/conftest.py)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from lti_tool.db.models import BadgeCredential
from lti_tool.runtime import runtime


def credentials(app: Flask) -> list[BadgeCredential]:
    """Every issued credential, oldest first."""
    with runtime(app).session_factory() as session:
        return list(
            session.scalars(
                sa.select(BadgeCredential).order_by(BadgeCredential.issued_at)
            )
        )
