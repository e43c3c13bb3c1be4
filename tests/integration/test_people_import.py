"""The people/KPI CSV import validates every row, upserts idempotently and links users."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import orm
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from lti_tool.cli_people import register_people_commands
from lti_tool.db.models import KpiValue, LmsUser, Person, Platform
from lti_tool.services.people_import import (
    ImportReport,
    RowIssue,
    import_people_csv,
    link_lms_user,
)
from lti_tool.web import admin
from lti_tool.web.people import register_people_routes
from tests.conftest import FakeClock
from tests.support.platform import ADMIN, SimulatedPlatform, launch_id_from

# The lead registers these in lti_tool/web/admin.py; the call is idempotent, and
# runs at collection, before any app registers the admin blueprint.
register_people_routes(admin.bp)

HEADER = (
    "employee_id,email,name,site,line_of_business,hire_date,disciplinary_action,"
    "performance_improvement_plan,review_score,review_scale,period,"
    "call_resolution,quality_score,csat"
)
GOOD_ROWS = (
    "E1,ana@example.com,Ana M,Site A,Billing,2024-01-15,no,no,2.6,3,2026-Q2,90,91,92",
    "E1,ana@example.com,Ana M,Site A,Billing,2024-01-15,no,no,2.6,3,2026-Q3,91.5,92%,93",
    "E2,ben@example.com,Ben O,Site A,Billing,2025-06-01,no,no,2.4,3,2026-Q3,80,85,86",
    "E3,carla@example.com,Carla N,Site B,Claims,2023-03-01,no,yes,1.8,3,2026-Q3,74,70,76",
)


def csv_bytes(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join((header, *rows)) + "\n").encode("utf-8")


@pytest.fixture
def session(engine: sa.Engine) -> Iterator[orm.Session]:
    with orm.Session(engine, expire_on_commit=False) as session:
        yield session


def run(
    session: orm.Session, data: bytes, now: datetime, **kwargs: int
) -> ImportReport:
    report = import_people_csv(session, data, now, **kwargs)  # type: ignore[arg-type]
    session.commit()
    return report


def people(session: orm.Session) -> dict[str, Person]:
    return {p.employee_id: p for p in session.scalars(sa.select(Person))}


def kpis(session: orm.Session) -> dict[tuple[str, str, str], float]:
    rows = session.execute(
        sa.select(Person.employee_id, KpiValue.kpi, KpiValue.period, KpiValue.value)
        .join(KpiValue.person)
        .order_by(KpiValue.id)
    )
    return {(e, k, p): v for e, k, p, v in rows}


def add_platform(session: orm.Session, now: datetime) -> Platform:
    platform = Platform(
        issuer="https://lms.example.edu",
        client_id="c1",
        auth_login_url="https://lms.example.edu/auth",
        token_url="https://lms.example.edu/token",
        jwks_url="https://lms.example.edu/jwks",
        created_at=now,
    )
    session.add(platform)
    session.flush()
    return platform


def add_user(
    session: orm.Session, platform: Platform, sub: str, email: str | None, now: datetime
) -> LmsUser:
    user = LmsUser(
        platform_id=platform.id,
        sub=sub,
        email=email,
        first_launch_at=now,
        last_launch_at=now,
    )
    session.add(user)
    session.flush()
    return user


# -- writing -----------------------------------------------------------------


def test_valid_file_creates_people_and_kpi_values(
    session: orm.Session, clock: FakeClock
) -> None:
    report = run(session, csv_bytes(*GOOD_ROWS), clock())
    assert report.ok
    assert (report.rows, report.people_created, report.kpi_values_written) == (4, 3, 12)
    found = people(session)
    assert set(found) == {"E1", "E2", "E3"}
    ana = found["E1"]
    assert (ana.email, ana.name, ana.site, ana.line_of_business) == (
        "ana@example.com",
        "Ana M",
        "Site A",
        "Billing",
    )
    assert ana.hire_date is not None
    assert ana.hire_date.isoformat() == "2024-01-15"
    assert (ana.review_score, ana.review_scale) == (2.6, 3.0)
    assert found["E3"].performance_improvement_plan is True
    assert found["E3"].disciplinary_action is False
    values = kpis(session)
    assert values[("E1", "quality_score", "2026-Q3")] == 92.0
    assert values[("E1", "call_resolution", "2026-Q2")] == 90.0
    assert report.unmatched == ("E1", "E2", "E3")
    assert report.unmatched_total == 3


def test_reimporting_the_same_file_changes_nothing(
    session: orm.Session, clock: FakeClock
) -> None:
    run(session, csv_bytes(*GOOD_ROWS), clock())
    before = {e: p.updated_at for e, p in people(session).items()}
    values_before = kpis(session)
    clock.advance(hours=1)
    again = run(session, csv_bytes(*GOOD_ROWS), clock())
    session.expire_all()
    assert (again.people_created, again.people_updated, again.people_unchanged) == (
        0,
        0,
        3,
    )
    assert (again.kpi_values_written, again.kpi_values_unchanged) == (0, 12)
    assert {e: p.updated_at for e, p in people(session).items()} == before
    assert kpis(session) == values_before


def test_a_changed_row_updates_only_that_person(
    session: orm.Session, clock: FakeClock
) -> None:
    run(session, csv_bytes(*GOOD_ROWS), clock())
    before = {e: p.updated_at for e, p in people(session).items()}
    clock.advance(hours=1)
    changed = GOOD_ROWS[2].replace("Site A", "Site C").replace(",80,", ",82.5,")
    report = run(session, csv_bytes(*GOOD_ROWS[:2], changed, GOOD_ROWS[3]), clock())
    session.expire_all()
    assert (report.people_updated, report.people_unchanged) == (1, 2)
    assert (report.kpi_values_written, report.kpi_values_unchanged) == (1, 11)
    after = people(session)
    assert after["E2"].site == "Site C"
    assert after["E2"].updated_at == clock()
    assert {e: p.updated_at for e, p in after.items() if e != "E2"} == {
        e: t for e, t in before.items() if e != "E2"
    }
    assert kpis(session)[("E2", "call_resolution", "2026-Q3")] == 82.5


def test_columns_left_out_of_a_file_keep_their_values(
    session: orm.Session, clock: FakeClock
) -> None:
    run(session, csv_bytes(*GOOD_ROWS), clock())
    report = run(
        session,
        csv_bytes("E1,2026-Q4,88", header="employee_id,period,csat"),
        clock(),
    )
    session.expire_all()
    assert report.people_unchanged == 1
    ana = people(session)["E1"]
    assert (ana.name, ana.site, ana.review_score) == ("Ana M", "Site A", 2.6)
    assert kpis(session)[("E1", "csat", "2026-Q4")] == 88.0


def test_a_row_without_kpis_needs_no_period(
    session: orm.Session, clock: FakeClock
) -> None:
    report = run(
        session, csv_bytes("E9,Nia,yes", header="employee_id,name,x_note"), clock()
    )
    assert report.ok
    assert people(session)["E9"].name == "Nia"


# -- rejected rows -----------------------------------------------------------

BAD_VALUES = [
    ("employee_id", "", "is required", None),
    ("employee_id", "E" * 101, "longer than 100 characters", "E" * 40 + "…"),
    ("email", "not-an-email", "not an email address", "not-an-email"),
    ("hire_date", "2026-13-01", "not a date (use YYYY-MM-DD)", "2026-13-01"),
    ("hire_date", "15/01/2024", "not a date (use YYYY-MM-DD)", "15/01/2024"),
    ("hire_date", "2099-01-01", "is in the future (today is {today})", "2099-01-01"),
    (
        "disciplinary_action",
        "maybe",
        "not yes/no (use yes, no, true, false, 1 or 0)",
        "maybe",
    ),
    (
        "performance_improvement_plan",
        "2",
        "not yes/no (use yes, no, true, false, 1 or 0)",
        "2",
    ),
    ("review_score", "3.5", "out of range (0 to 3)", "3.5"),
    ("review_score", "-1", "out of range (0 to 3)", "-1"),
    ("review_score", "good", "not a number", "good"),
    ("review_scale", "0", "out of range (1 to 100)", "0"),
    ("call_resolution", "101", "out of range (0 to 100)", "101"),
    ("quality_score", '"87,5"', "not a number", "87,5"),
    ("csat", "nan", "not a number", "nan"),
    ("csat", "1e2", "not a number", "1e2"),
    ("period", "2026-Q5", "not a period (use 2026-Q3 or 2026-09)", "2026-Q5"),
    ("period", "", "is required when a KPI column has a value", None),
]


@pytest.mark.parametrize(("column", "value", "problem", "shown"), BAD_VALUES)
def test_a_bad_value_rejects_only_its_row_with_row_and_column(
    session: orm.Session,
    clock: FakeClock,
    column: str,
    value: str,
    problem: str,
    shown: str | None,
) -> None:
    names = HEADER.split(",")
    cells = GOOD_ROWS[2].split(",")
    cells[names.index(column)] = value
    report = run(session, csv_bytes(GOOD_ROWS[0], ",".join(cells)), clock())
    assert report.rejected_rows == (
        RowIssue(3, column, problem.format(today=clock().date()), shown),
    )
    assert set(people(session)) == {"E1"}
    assert report.kpi_values_written == 3


def test_every_problem_of_a_row_is_listed(
    session: orm.Session, clock: FakeClock
) -> None:
    row = "E5,x,Eve,Site A,Billing,2024-02-30,perhaps,no,9,3,2026-Q3,50,50,500"
    report = run(session, csv_bytes(row), clock())
    assert [(i.row, i.column) for i in report.rejected_rows] == [
        (2, "email"),
        (2, "hire_date"),
        (2, "disciplinary_action"),
        (2, "review_score"),
        (2, "csat"),
    ]
    assert report.rejected_row_count == 1
    assert people(session) == {}


def test_a_row_with_the_wrong_number_of_values_is_rejected(
    session: orm.Session, clock: FakeClock
) -> None:
    report = run(
        session,
        csv_bytes("E1,a@example.com", "E2,b@example.com,x", header="employee_id,email"),
        clock(),
    )
    assert report.rejected_rows == (
        RowIssue(3, None, "has 3 values but the header has 2 columns", None),
    )
    assert set(people(session)) == {"E1"}


def test_duplicates_in_the_file_reject_the_later_row(
    session: orm.Session, clock: FakeClock
) -> None:
    report = run(session, csv_bytes(GOOD_ROWS[2], GOOD_ROWS[2]), clock())
    assert report.rejected_rows == (
        RowIssue(
            3,
            "period",
            "duplicate: employee E2 already has period 2026-Q3 on row 2",
            "2026-Q3",
        ),
    )
    assert report.people_created == 1


def test_conflicting_hr_facts_for_one_employee_are_rejected(
    session: orm.Session, clock: FakeClock
) -> None:
    conflicting = GOOD_ROWS[1].replace("2.6", "2.9").replace(",no,no,", ",yes,no,")
    report = run(session, csv_bytes(GOOD_ROWS[0], conflicting), clock())
    assert report.rejected_rows == (
        RowIssue(
            3,
            "disciplinary_action",
            "differs from row 2 for employee E1 (no there)",
            "yes",
        ),
        RowIssue(
            3, "review_score", "differs from row 2 for employee E1 (2.6 there)", "2.9"
        ),
    )
    assert set(kpis(session)) == {
        ("E1", k, "2026-Q2") for k in ("call_resolution", "quality_score", "csat")
    }


def test_two_employees_with_one_email_are_rejected(
    session: orm.Session, clock: FakeClock
) -> None:
    report = run(
        session,
        csv_bytes(
            "E1,Sam@example.com", "E2,sam@EXAMPLE.com", header="employee_id,email"
        ),
        clock(),
    )
    assert report.rejected_rows == (
        RowIssue(3, "email", "already used by employee E1 on row 2", "sam@EXAMPLE.com"),
    )


# -- file-level problems -------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("email,name", "required column employee_id is missing"),
        ("employee_id,emial", "unknown column emial (did you mean email?)"),
        ("employee_id,email,EMAIL", "column email appears twice"),
        ("employee_id,,email", "column 2 of the header has no name"),
    ],
)
def test_a_bad_header_refuses_the_file_and_writes_nothing(
    session: orm.Session, clock: FakeClock, header: str, fragment: str
) -> None:
    report = run(session, csv_bytes("E1,a@example.com,b", header=header), clock())
    assert len(report.file_issues) == 1
    assert fragment in report.file_issues[0].problem
    assert report.rows == 0
    assert people(session) == {}


def test_header_names_are_case_insensitive_in_any_order(
    session: orm.Session, clock: FakeClock
) -> None:
    report = run(
        session,
        csv_bytes("88%,2026-Q3,E7", header=" CSAT ,Period,Employee_ID"),
        clock(),
    )
    assert report.ok
    assert kpis(session) == {("E7", "csat", "2026-Q3"): 88.0}


def test_non_utf8_bytes_refuse_the_file_with_the_offset(
    session: orm.Session, clock: FakeClock
) -> None:
    data = b"employee_id,name\nE1,Jos\xe9\n"
    report = run(session, data, clock())
    (issue,) = report.file_issues
    assert "byte 23 is 0xe9" in issue.problem
    assert 'save it as "CSV UTF-8"' in issue.problem
    assert people(session) == {}


def test_a_utf8_byte_order_mark_is_accepted(
    session: orm.Session, clock: FakeClock
) -> None:
    data = b"\xef\xbb\xbfemployee_id,name\nE1,Jos\xc3\xa9\n"
    report = run(session, data, clock())
    assert report.ok
    assert people(session)["E1"].name == "José"


def test_an_empty_file_is_refused(session: orm.Session, clock: FakeClock) -> None:
    report = run(session, b"", clock())
    assert report.file_issues[0].problem.startswith("the file is empty")


def test_a_header_only_file_imports_nothing_without_complaint(
    session: orm.Session, clock: FakeClock
) -> None:
    report = run(session, csv_bytes(), clock())
    assert report == ImportReport()


class CountingStream(io.RawIOBase):
    """An endless stream of CSV rows that counts how much was read."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = (b"E1,x\n" * (len(buffer) // 5 + 1))[: len(buffer)]
        buffer[: len(chunk)] = chunk
        self.read_bytes += len(chunk)
        return len(chunk)


def test_a_file_over_the_limit_is_refused_without_reading_it_all(
    session: orm.Session, clock: FakeClock
) -> None:
    stream = CountingStream()
    report = run(session, stream, clock(), max_bytes=10_000)  # type: ignore[arg-type]
    assert "larger than the limit of 10,000 bytes" in report.file_issues[0].problem
    assert stream.read_bytes <= 10_001


def test_progress_is_reported_every_thousand_rows(
    session: orm.Session, clock: FakeClock
) -> None:
    rows = [f"E{i},2026-Q3,{i % 100}" for i in range(2500)]
    calls: list[tuple[int, int]] = []
    import_people_csv(
        session,
        csv_bytes(*rows, header="employee_id,period,csat"),
        clock(),
        on_progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(1000, 2500), (2000, 2500), (2500, 2500)]


# -- linking -----------------------------------------------------------------


def test_import_links_lms_users_by_email_ignoring_case(
    session: orm.Session, clock: FakeClock
) -> None:
    platform = add_platform(session, clock())
    ana = add_user(session, platform, "u-ana", "ANA@Example.com", clock())
    stranger = add_user(session, platform, "u-x", "who@example.com", clock())
    session.commit()
    report = run(session, csv_bytes(*GOOD_ROWS), clock())
    assert report.linked_users == 1
    assert report.unmatched == ("E2", "E3")
    assert report.unmatched_total == 2
    session.refresh(ana)
    session.refresh(stranger)
    assert ana.person_id == people(session)["E1"].id
    assert stranger.person_id is None
    assert run(session, csv_bytes(*GOOD_ROWS), clock()).linked_users == 0


def test_link_lms_user_matches_email_or_employee_id(
    session: orm.Session, clock: FakeClock
) -> None:
    run(session, csv_bytes(*GOOD_ROWS), clock())
    platform = add_platform(session, clock())
    by_email = add_user(session, platform, "u1", " Ben@Example.COM ", clock())
    by_claim = add_user(session, platform, "u2", "other@example.com", clock())
    nobody = add_user(session, platform, "u3", None, clock())
    ben = link_lms_user(session, by_email)
    carla = link_lms_user(session, by_claim, employee_id="E3")
    assert ben is not None
    assert ben.employee_id == "E2"
    assert by_email.person_id == ben.id
    assert carla is not None
    assert by_claim.person_id == carla.id
    assert link_lms_user(session, nobody) is None
    assert link_lms_user(session, by_email) is ben


# -- command line --------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "exit_code", "expected"),
    [
        (GOOD_ROWS, 0, "people: 3 created, 0 updated, 0 unchanged"),
        (
            (GOOD_ROWS[0], GOOD_ROWS[1].replace("2024-01-15", "2026-13-01")),
            1,
            "row 3, column hire_date: not a date (use YYYY-MM-DD) (got '2026-13-01')",
        ),
    ],
)
def test_people_import_command_prints_the_report_and_exit_code(
    app: Flask,
    tmp_path: Path,
    rows: tuple[str, ...],
    exit_code: int,
    expected: str,
) -> None:
    register_people_commands(app)
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes(*rows))
    result = app.test_cli_runner().invoke(args=["people", "import", str(path)])
    assert result.exit_code == exit_code, result.output
    assert expected in result.output
    assert "people without a linked LMS user yet:" in result.output


def test_people_import_command_fails_on_a_file_issue(
    app: Flask, tmp_path: Path
) -> None:
    register_people_commands(app)
    path = tmp_path / "people.csv"
    path.write_bytes(b"name\nAna\n")
    result = app.test_cli_runner().invoke(args=["people", "import", str(path)])
    assert result.exit_code == 1
    assert "file refused, nothing written" in result.output


# -- admin page ----------------------------------------------------------------


def admin_launch(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> tuple[str, str]:
    response, _ = platform.full_launch(client, clock(), roles=ADMIN)
    launch = launch_id_from(response.headers["Location"])
    page = client.get(f"/admin/people?launch={launch}")
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    marker = 'name="csrf_token" value="'
    csrf = html.split(marker, 1)[1].split('"', 1)[0]
    return launch, csrf


def test_admin_uploads_a_csv_and_sees_rejected_rows(
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    engine: sa.Engine,
) -> None:
    launch, csrf = admin_launch(client, platform, clock)
    bad = GOOD_ROWS[3].replace(",74,", ",174,")
    response = client.post(
        "/admin/people/import",
        data={
            "csrf_token": csrf,
            "launch": launch,
            "file": (io.BytesIO(csv_bytes(*GOOD_ROWS[:3], bad)), "people.txt"),
        },
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "<caption>Rejected rows" in html
    assert (
        '<th scope="row">5</th><td>call_resolution</td><td>out of range (0 to 100)</td>'
        in html
    )
    with orm.Session(engine) as check:
        assert check.scalar(sa.select(sa.func.count()).select_from(Person)) == 2
    page = client.get(f"/admin/people?launch={launch}").get_data(as_text=True)
    assert "2 people imported." in page
    assert "Last import: <code>people.txt</code>" in page


@pytest.mark.parametrize(
    ("upload", "status", "expected"),
    [
        (None, 400, "Choose a CSV file to upload."),
        (
            (b"nombre\nAna\n", "people.csv"),
            422,
            "The file was refused; nothing was written.",
        ),
    ],
)
def test_admin_upload_refuses_a_missing_or_unreadable_file(
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    upload: tuple[bytes, str] | None,
    status: int,
    expected: str,
) -> None:
    launch, csrf = admin_launch(client, platform, clock)
    data: dict[str, object] = {"csrf_token": csrf, "launch": launch}
    if upload is not None:
        data["file"] = (io.BytesIO(upload[0]), upload[1])
    response = client.post(
        "/admin/people/import", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == status
    assert expected in response.get_data(as_text=True)


def test_admin_upload_may_exceed_the_usual_request_limit(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    launch, csrf = admin_launch(client, platform, clock)
    pad = "x" * 100
    rows = [f"E{i},2026-Q3,{i % 100},{pad}" for i in range(10_000)]
    data = csv_bytes(*rows, header="employee_id,period,csat,x_padding")
    assert len(data) > 1024 * 1024
    # Encoded in memory: the test client would spool a body this big to a
    # temporary file it never closes.
    boundary, body = encode_multipart(
        {
            "csrf_token": csrf,
            "launch": launch,
            "file": FileStorage(io.BytesIO(data), filename="big.csv"),
        }
    )
    response = client.post(
        "/admin/people/import",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 200
    assert "10000 rows read" in response.get_data(as_text=True)


def test_people_page_is_for_administrators_only(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    response, _ = platform.full_launch(client, clock())
    launch = launch_id_from(response.headers["Location"])
    assert client.get(f"/admin/people?launch={launch}").status_code == 403
