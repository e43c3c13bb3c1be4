"""Read the local statement store for the xAPI read API (GET /xapi/statements).

Pages are keyset-paginated on (stored, seq): each page starts strictly after
the last statement of the previous one, so a page costs the same at statement
10 as at statement 10 million (no OFFSET), and statements stored while a client
pages never shift or repeat what it has already seen. Every filter matches a
column with an index on (column, stored).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from lti_tool.db.models import StoredStatement
from xapi.query import Position, StatementQuery

S = StoredStatement


@dataclass(frozen=True)
class StatementRow:
    """What the API serves of a stored statement: its position and its JSON."""

    seq: int
    stored: datetime
    payload: dict[str, Any]

    def position(self) -> Position:
        return Position(self.stored, self.seq)


@dataclass(frozen=True)
class StatementPage:
    """One page; `next_after` is the position to continue from, None on the last."""

    rows: list[StatementRow]
    next_after: Position | None


def _columns() -> sa.Select[tuple[int, datetime, dict[str, Any]]]:
    return sa.select(S.seq, S.stored, S.payload)


def _after(position: Position, ascending: bool) -> sa.ColumnElement[bool]:
    """Rows strictly past `position` in the page order.

    Written as `stored <= p AND (stored < p OR seq < q)` rather than a row
    comparison so the `stored` bound is usable by every (column, stored) index.
    """
    if ascending:
        return sa.and_(
            S.stored >= position.stored,
            sa.or_(S.stored > position.stored, S.seq > position.seq),
        )
    return sa.and_(
        S.stored <= position.stored,
        sa.or_(S.stored < position.stored, S.seq < position.seq),
    )


def _filters(query: StatementQuery) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = [S.voided.is_(False)]
    if query.agent is not None:
        conditions.append(S.agent == query.agent)
    if query.verb is not None:
        conditions.append(S.verb == query.verb)
    if query.activity is not None:
        conditions.append(S.activity == query.activity)
    if query.registration is not None:
        conditions.append(S.registration == query.registration)
    if query.since is not None:
        conditions.append(S.stored > query.since)  # since is exclusive
    if query.until is not None:
        conditions.append(S.stored <= query.until)  # until is inclusive
    if query.after is not None:
        conditions.append(_after(query.after, query.ascending))
    return conditions


def find_statements(
    session: orm.Session, query: StatementQuery, limit: int
) -> StatementPage:
    """One page of non-voided statements matching `query`, at most `limit` long.

    Fetches one row more than the page to know whether another page follows
    without a COUNT.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    order = (
        (S.stored.asc(), S.seq.asc())
        if query.ascending
        else (S.stored.desc(), S.seq.desc())
    )
    statement = _columns().where(*_filters(query)).order_by(*order).limit(limit + 1)
    rows = [
        StatementRow(seq, stored, payload)
        for seq, stored, payload in session.execute(statement)
    ]
    if len(rows) > limit:
        rows = rows[:limit]
        return StatementPage(rows, rows[-1].position())
    return StatementPage(rows, None)


def get_statement(
    session: orm.Session, statement_id: str, *, voided: bool
) -> StatementRow | None:
    """The statement with this id if its voided state is `voided`, else None.

    xAPI (Communication 2.1.3): a voided statement is found only by
    voidedStatementId, and voidedStatementId finds only voided ones.
    """
    found = session.execute(
        _columns().where(S.id == statement_id, S.voided.is_(voided))
    ).one_or_none()
    if found is None:
        return None
    seq, stored, payload = found
    return StatementRow(seq, stored, payload)
