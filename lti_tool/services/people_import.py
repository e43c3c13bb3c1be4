"""Import people (HR facts) and their KPI values from a CSV file; link LMS users.

The file has one row per person per KPI period (docs/people-import.md). Every
row is validated first; a row with any problem is skipped whole and reported,
the rest are written as idempotent upserts in the caller's transaction (this
module only flushes). File-level problems (encoding, header, size) write nothing.

Writes are batched: existing people and KPI values are loaded in chunks and new
or changed rows are inserted/updated with executemany, so 100,000 rows import in
seconds on SQLite.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any, Final

import sqlalchemy as sa
from sqlalchemy import orm

from lti_tool.db.base import Model
from lti_tool.db.models import KpiValue, LmsUser, Person
from lti_tool.services.progress import refresh_peer_stats

ProgressCallback = Callable[[int, int], None]

KPI_COLUMNS: Final = ("call_resolution", "quality_score", "csat")
HR_COLUMNS: Final = (
    "email",
    "name",
    "site",
    "line_of_business",
    "hire_date",
    "disciplinary_action",
    "performance_improvement_plan",
    "review_score",
    "review_scale",
)
REQUIRED_COLUMNS: Final = ("employee_id",)
KNOWN_COLUMNS: Final = (*REQUIRED_COLUMNS, *HR_COLUMNS, "period", *KPI_COLUMNS)
IGNORED_PREFIX: Final = "x_"
DEFAULT_REVIEW_SCALE: Final = 3.0
UNMATCHED_CAP: Final = 1000
PROGRESS_EVERY: Final = 1000
MAX_LENGTHS: Final = {
    "employee_id": 100,
    "email": 320,
    "name": 300,
    "site": 200,
    "line_of_business": 200,
}

_CHUNK = 500
# Core inserts (executemany) skip the ORM's per-row bookkeeping.
_PERSON_TABLE: Final = Model.metadata.tables[Person.__tablename__]
_KPI_TABLE: Final = Model.metadata.tables[KpiValue.__tablename__]
_TRUE = frozenset({"yes", "y", "true", "t", "1"})
_FALSE = frozenset({"no", "n", "false", "f", "0", ""})
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PERIOD = re.compile(r"(\d{4})-(Q[1-4]|0[1-9]|1[0-2])", re.IGNORECASE)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class RowIssue:
    """One problem: a data row (header is row 1) or the file (row 0), and a column."""

    row: int
    column: str | None
    problem: str
    value: str | None = None

    def describe(self) -> str:
        """Render as 'row 14, column hire_date: not a date (got '2026-13-01')'."""
        where = [f"row {self.row}"] if self.row else []
        if self.column:
            where.append(f"column {self.column}")
        text = (", ".join(where) + ": " if where else "") + self.problem
        if self.value is not None:
            text += f" (got {self.value!r})"
        return text


@dataclass(frozen=True)
class ImportReport:
    """What an import did, and every row it refused and why."""

    rows: int = 0
    people_created: int = 0
    people_updated: int = 0
    people_unchanged: int = 0
    kpi_values_written: int = 0
    kpi_values_unchanged: int = 0
    rejected_rows: tuple[RowIssue, ...] = ()
    file_issues: tuple[RowIssue, ...] = ()
    linked_users: int = 0
    unmatched: tuple[str, ...] = ()
    unmatched_total: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing was refused (no file issue, no rejected row)."""
        return not self.rejected_rows and not self.file_issues

    @property
    def rejected_row_count(self) -> int:
        """How many distinct rows were skipped."""
        return len({issue.row for issue in self.rejected_rows})


class _FileProblem(Exception):
    """A problem that stops the whole import before anything is written."""

    def __init__(self, problem: str, *, column: str | None = None) -> None:
        super().__init__(problem)
        self.issue = RowIssue(0, column, problem, None)


@dataclass
class _Row:
    """A validated row: HR values of the columns present, period and KPI values."""

    number: int
    employee_id: str
    hr: dict[str, Any]
    period: str | None
    kpis: dict[str, float] = field(default_factory=dict)


# -- reading -----------------------------------------------------------------


def _read_bytes(data: bytes | IO[bytes], max_bytes: int) -> bytes:
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
    else:
        raw = data.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise _FileProblem(
            f"the file is larger than the limit of {max_bytes:,} bytes;"
            " split it into smaller files"
        )
    return raw


def _decode(raw: bytes) -> str:
    bom = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        return raw[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = bom + exc.start
        raise _FileProblem(
            f"the file is not UTF-8 text: byte {offset} is 0x{raw[offset]:02x};"
            ' save it as "CSV UTF-8" (in Excel: Save As → CSV UTF-8) and try again'
        ) from exc


def _header(cells: list[str]) -> list[str]:
    names = [cell.strip().lower() for cell in cells]
    problems: list[str] = []
    seen: set[str] = set()
    for position, name in enumerate(names, start=1):
        if not name:
            problems.append(f"column {position} of the header has no name")
        elif name in seen:
            problems.append(f"column {name} appears twice in the header")
        seen.add(name)
    unknown = [
        n for n in names if n and n not in KNOWN_COLUMNS and not n.startswith("x_")
    ]
    for name in unknown:
        close = difflib.get_close_matches(name, KNOWN_COLUMNS, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        problems.append(
            f"unknown column {name}{hint}; known columns are"
            f" {', '.join(KNOWN_COLUMNS)}, and columns starting with x_ are ignored"
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    for name in missing:
        problems.append(f"required column {name} is missing from the header")
    if problems:
        raise _FileProblem("; ".join(problems))
    return names


# -- validating one row --------------------------------------------------------


def _number(text: str) -> float | None:
    if not _NUMBER.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


class _RowChecker:
    """Parses the cells of one row, collecting an issue per bad cell."""

    def __init__(self, row: int, cells: dict[str, str], today: date) -> None:
        self.row = row
        self.cells = cells
        self.today = today
        self.issues: list[RowIssue] = []

    def fail(self, column: str, problem: str, value: str | None) -> None:
        self.issues.append(RowIssue(self.row, column, problem, value))

    def text(self, column: str) -> str | None:
        value = self.cells[column].strip()
        limit = MAX_LENGTHS.get(column)
        if limit is not None and len(value) > limit:
            self.fail(column, f"longer than {limit} characters", value[:40] + "…")
            return None
        return value or None

    def flag(self, column: str) -> bool:
        value = self.cells[column].strip()
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered not in _FALSE:
            self.fail(column, "not yes/no (use yes, no, true, false, 1 or 0)", value)
        return False

    def day(self, column: str) -> date | None:
        value = self.cells[column].strip()
        if not value:
            return None
        try:
            if not _DATE.fullmatch(value):
                raise ValueError(value)
            parsed = date.fromisoformat(value)
        except ValueError:
            self.fail(column, "not a date (use YYYY-MM-DD)", value)
            return None
        if parsed > self.today:
            self.fail(column, f"is in the future (today is {self.today})", value)
            return None
        return parsed

    def number(
        self, column: str, *, low: float, high: float, percent: bool = False
    ) -> float | None:
        value = self.cells[column].strip()
        text = value[:-1].rstrip() if percent and value.endswith("%") else value
        if not text:
            return None
        parsed = _number(text)
        if parsed is None:
            self.fail(column, "not a number", value)
            return None
        if not low <= parsed <= high:
            self.fail(column, f"out of range ({low:g} to {high:g})", value)
            return None
        return parsed


def _check_row(
    number: int, cells: dict[str, str], today: date
) -> _Row | list[RowIssue]:
    check = _RowChecker(number, cells, today)
    employee_id = check.text("employee_id")
    if employee_id is None and not check.issues:
        check.fail("employee_id", "is required", None)
    hr: dict[str, Any] = {}
    for column in ("email", "name", "site", "line_of_business"):
        if column in cells:
            hr[column] = check.text(column)
    email = hr.get("email")
    if email is not None and not _EMAIL.fullmatch(email):
        check.fail("email", "not an email address", email)
    if "hire_date" in cells:
        hr["hire_date"] = check.day("hire_date")
    for column in ("disciplinary_action", "performance_improvement_plan"):
        if column in cells:
            hr[column] = check.flag(column)
    scale: float | None = None
    if "review_scale" in cells:
        scale = check.number("review_scale", low=1, high=100)
    if "review_score" in cells:
        bound = scale if scale is not None else DEFAULT_REVIEW_SCALE
        score = check.number("review_score", low=0, high=bound)
        hr["review_score"] = score
        hr["review_scale"] = (
            scale if scale is not None or score is None else DEFAULT_REVIEW_SCALE
        )
    elif "review_scale" in cells:
        hr["review_scale"] = scale
    kpis: dict[str, float] = {}
    for column in KPI_COLUMNS:
        if column in cells:
            value = check.number(column, low=0, high=100, percent=True)
            if value is not None:
                kpis[column] = value
    period: str | None = None
    raw_period = cells.get("period", "").strip()
    if raw_period:
        match = _PERIOD.fullmatch(raw_period)
        if match is None:
            check.fail("period", "not a period (use 2026-Q3 or 2026-09)", raw_period)
        else:
            period = f"{match.group(1)}-{match.group(2).upper()}"
    elif any(cells.get(c, "").strip() for c in KPI_COLUMNS):
        check.fail("period", "is required when a KPI column has a value", None)
    if check.issues:
        return check.issues
    assert employee_id is not None
    return _Row(number, employee_id, hr, period, kpis)


def _show(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _validate(
    text: str, today: date, on_progress: ProgressCallback | None
) -> tuple[list[_Row], list[RowIssue], int]:
    """Return (valid rows, issues of rejected rows, number of data rows)."""
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise _FileProblem(f"the file is not valid CSV: {exc}") from exc
    if not records or not any(cell.strip() for cell in records[0]):
        raise _FileProblem("the file is empty: the first row must be the header")
    columns = _header(records[0])
    data = [(n, r) for n, r in enumerate(records[1:], start=2) if any(r)]
    total = len(data)
    valid: list[_Row] = []
    issues: list[RowIssue] = []
    first_hr: dict[str, _Row] = {}
    seen_periods: dict[tuple[str, str | None], int] = {}
    email_owner: dict[str, tuple[str, int]] = {}
    for done, (number, record) in enumerate(data, start=1):
        if on_progress is not None and done % PROGRESS_EVERY == 0:
            on_progress(done, total)
        if len(record) != len(columns):
            issues.append(
                RowIssue(
                    number,
                    None,
                    f"has {len(record)} values but the header has {len(columns)}"
                    " columns",
                    None,
                )
            )
            continue
        cells = {
            name: cell
            for name, cell in zip(columns, record, strict=True)
            if not name.startswith(IGNORED_PREFIX)
        }
        checked = _check_row(number, cells, today)
        if isinstance(checked, list):
            issues.extend(checked)
            continue
        row_issues = _cross_check(checked, first_hr, seen_periods, email_owner)
        if row_issues:
            issues.extend(row_issues)
            continue
        first_hr.setdefault(checked.employee_id, checked)
        seen_periods[(checked.employee_id, checked.period)] = number
        email = checked.hr.get("email")
        if email:
            email_owner.setdefault(email.lower(), (checked.employee_id, number))
        valid.append(checked)
    return valid, issues, total


def _cross_check(
    row: _Row,
    first_hr: dict[str, _Row],
    seen_periods: dict[tuple[str, str | None], int],
    email_owner: dict[str, tuple[str, int]],
) -> list[RowIssue]:
    issues: list[RowIssue] = []
    earlier = seen_periods.get((row.employee_id, row.period))
    if earlier is not None:
        what = f"period {row.period}" if row.period else "a row without a period"
        issues.append(
            RowIssue(
                row.number,
                "period",
                f"duplicate: employee {row.employee_id} already has {what} on row"
                f" {earlier}",
                row.period,
            )
        )
    first = first_hr.get(row.employee_id)
    if first is not None:
        for column, value in row.hr.items():
            if first.hr[column] != value:
                issues.append(
                    RowIssue(
                        row.number,
                        column,
                        f"differs from row {first.number} for employee"
                        f" {row.employee_id} ({_show(first.hr[column])} there)",
                        _show(value),
                    )
                )
    email = row.hr.get("email")
    if email:
        owner = email_owner.get(email.lower())
        if owner is not None and owner[0] != row.employee_id:
            issues.append(
                RowIssue(
                    row.number,
                    "email",
                    f"already used by employee {owner[0]} on row {owner[1]}",
                    email,
                )
            )
    return issues


# -- writing -----------------------------------------------------------------


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_PERSON_FIELDS: Final = HR_COLUMNS


def _load_people(
    session: orm.Session, employee_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    columns = [getattr(Person, name) for name in ("id", "employee_id", *_PERSON_FIELDS)]
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(employee_ids):
        for row in session.execute(
            sa.select(*columns).where(Person.employee_id.in_(chunk))
        ).mappings():
            found[row["employee_id"]] = dict(row)
    return found


def _write_people(
    session: orm.Session, people: dict[str, _Row], now: datetime
) -> tuple[dict[str, int], int, int, int]:
    """Upsert people; return (employee id → person id, created, updated, unchanged)."""
    existing = _load_people(session, list(people))
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    unchanged = 0
    for employee_id, row in people.items():
        current = existing.get(employee_id)
        if current is None:
            values: dict[str, Any] = {
                "employee_id": employee_id,
                "disciplinary_action": False,
                "performance_improvement_plan": False,
                **row.hr,
                "updated_at": now,
            }
            inserts.append(values)
            continue
        changes = {k: v for k, v in row.hr.items() if current[k] != v}
        if changes:
            updates.append({"id": current["id"], **changes, "updated_at": now})
        else:
            unchanged += 1
    if inserts:
        session.execute(sa.insert(_PERSON_TABLE), inserts)
    for group in _same_keys(updates):
        session.execute(sa.update(Person), group)
    ids = {employee_id: values["id"] for employee_id, values in existing.items()}
    created = [values["employee_id"] for values in inserts]
    for chunk in _chunks(created):
        found = session.execute(
            sa.select(Person.employee_id, Person.id).where(
                Person.employee_id.in_(chunk)
            )
        )
        ids.update(found.all())
    return ids, len(inserts), len(updates), unchanged


def _same_keys(rows: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    """Group update parameter sets by their keys (one executemany per shape)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    return groups.values()


def _write_kpis(
    session: orm.Session, rows: list[_Row], ids: dict[str, int]
) -> tuple[int, int]:
    """Upsert KPI values; return (written, unchanged)."""
    wanted: dict[tuple[int, str, str], float] = {}
    for row in rows:
        if row.period is None:
            continue
        person_id = ids[row.employee_id]
        for kpi, value in row.kpis.items():
            wanted[(person_id, kpi, row.period)] = value
    if not wanted:
        return 0, 0
    periods = sorted({key[2] for key in wanted})
    person_ids = sorted({key[0] for key in wanted})
    existing: dict[tuple[int, str, str], tuple[int, float]] = {}
    for chunk in _chunks(person_ids):
        for kpi_id, person_id, kpi, period, value in session.execute(
            sa.select(
                KpiValue.id,
                KpiValue.person_id,
                KpiValue.kpi,
                KpiValue.period,
                KpiValue.value,
            ).where(
                KpiValue.person_id.in_(chunk),
                KpiValue.period.in_(periods),
                KpiValue.kpi.in_(KPI_COLUMNS),
            )
        ):
            existing[(person_id, kpi, period)] = (kpi_id, value)
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    unchanged = 0
    for (person_id, kpi, period), value in wanted.items():
        current = existing.get((person_id, kpi, period))
        if current is None:
            inserts.append(
                {"person_id": person_id, "kpi": kpi, "period": period, "value": value}
            )
        elif current[1] != value:
            updates.append({"id": current[0], "value": value})
        else:
            unchanged += 1
    if inserts:
        session.execute(sa.insert(_KPI_TABLE), inserts)
    if updates:
        session.execute(sa.update(KpiValue), updates)
    return len(inserts) + len(updates), unchanged


def _expire_loaded(session: orm.Session) -> None:
    """Bulk statements bypass the identity map: expire any loaded people/KPIs."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Person | KpiValue | LmsUser):
            session.expire(obj)


# -- linking -----------------------------------------------------------------


def link_unlinked_users(session: orm.Session) -> int:
    """Link LMS users without a person to the person with the same email.

    Emails match case-insensitively; an email shared by several people links
    nobody (ambiguous). Returns how many LMS users were linked.
    """
    users = session.execute(
        sa.select(LmsUser.id, sa.func.lower(LmsUser.email)).where(
            LmsUser.person_id.is_(None), LmsUser.email.is_not(None)
        )
    )
    by_email: dict[str, list[int]] = {}
    for user_id, email in users:
        if email:
            by_email.setdefault(email.strip(), []).append(user_id)
    if not by_email:
        return 0
    people: dict[str, int | None] = {}
    emails = sorted(by_email)
    for chunk in _chunks(emails):
        for person_id, email in session.execute(
            sa.select(Person.id, sa.func.lower(Person.email)).where(
                sa.func.lower(Person.email).in_(chunk)
            )
        ):
            # A second person with the same email makes it ambiguous.
            people[email] = None if email in people else person_id
    updates = [
        {"id": user_id, "person_id": person_id}
        for email, person_id in people.items()
        if person_id is not None
        for user_id in by_email.get(email, ())
    ]
    if updates:
        session.execute(sa.update(LmsUser), updates)
    return len(updates)


def link_lms_user(
    session: orm.Session, user: LmsUser, *, employee_id: str | None = None
) -> Person | None:
    """Return the person `user` is (linking them now if they are not linked yet).

    At launch: an `employee_id` from a custom claim wins; otherwise the user's
    email matches a person's case-insensitively (and only when exactly one
    person has it). The caller commits.
    """
    if employee_id:
        person = session.scalar(
            sa.select(Person).where(Person.employee_id == employee_id.strip())
        )
        if person is not None:
            user.person_id = person.id
            return person
    if user.person_id is not None:
        return session.get(Person, user.person_id)
    if not user.email or not user.email.strip():
        return None
    matches = session.scalars(
        sa.select(Person)
        .where(sa.func.lower(Person.email) == user.email.strip().lower())
        .limit(2)
    ).all()
    if len(matches) != 1:
        return None
    user.person_id = matches[0].id
    return matches[0]


def _unmatched(session: orm.Session, ids: dict[str, int]) -> list[str]:
    linked = set(
        session.scalars(
            sa.select(LmsUser.person_id)
            .where(LmsUser.person_id.is_not(None))
            .distinct()
        )
    )
    return [employee_id for employee_id, pid in ids.items() if pid not in linked]


# -- the use case ------------------------------------------------------------


def import_people_csv(
    session: orm.Session,
    data: bytes | IO[bytes],
    now: datetime,
    *,
    on_progress: ProgressCallback | None = None,
    max_bytes: int = 50 * 1024 * 1024,
) -> ImportReport:
    """Validate and upsert a people/KPI CSV in the caller's transaction (flush only).

    Rows with any problem are skipped whole and listed in `rejected_rows`; a file
    problem (not UTF-8, bad header, too large, empty) writes nothing and is listed
    in `file_issues`. Re-importing the same file changes nothing.
    """
    try:
        text = _decode(_read_bytes(data, max_bytes))
        valid, issues, total = _validate(text, now.date(), on_progress)
    except _FileProblem as problem:
        return ImportReport(file_issues=(problem.issue,))
    people: dict[str, _Row] = {}
    for row in valid:
        people.setdefault(row.employee_id, row)
    session.flush()
    ids, created, updated, unchanged = _write_people(session, people, now)
    written, kpis_unchanged = _write_kpis(session, valid, ids)
    if written or created or updated:
        # Peer statistics (quartile cut points, centre averages) depend on
        # everyone's KPIs, sites and lines: recompute them in the same unit of work.
        refresh_peer_stats(session)
    linked = link_unlinked_users(session)
    session.flush()
    _expire_loaded(session)
    unmatched = _unmatched(session, ids)
    if on_progress is not None:
        on_progress(total, total)
    return ImportReport(
        rows=total,
        people_created=created,
        people_updated=updated,
        people_unchanged=unchanged,
        kpi_values_written=written,
        kpi_values_unchanged=kpis_unchanged,
        rejected_rows=tuple(issues),
        file_issues=(),
        linked_users=linked,
        unmatched=tuple(unmatched[:UNMATCHED_CAP]),
        unmatched_total=len(unmatched),
    )
