"""The synthetic population is realistic, deterministic and places the demo users."""

from __future__ import annotations

import csv
import io
import math
import statistics
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import orm

from lti_tool.cli_people import register_people_commands
from lti_tool.db.models import KpiValue, Person
from lti_tool.services.demo_data import (
    generate_people_csv,
    period_end,
    write_demo_people,
)
from lti_tool.services.people_import import import_people_csv
from tests.conftest import FakeClock

TODAY = date(2026, 11, 23)
DEMO_IDS = {"DEMO-ANA", "DEMO-BEN", "DEMO-CARLA", "DEMO-INES"}


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def quartile(values: list[float], value: float) -> int:
    """Quartile (1 = top) by cut points at ranks ceil(n/4), ceil(n/2), ceil(3n/4)."""
    ordered = sorted(values, reverse=True)
    n = len(ordered)
    for q, share in ((1, 1), (2, 2), (3, 3)):
        if value >= ordered[math.ceil(share * n / 4) - 1]:
            return q
    return 4


def months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


@pytest.mark.parametrize("n", [0, 1, 250])
def test_generator_makes_n_people_plus_the_four_demo_users(n: int) -> None:
    rows = rows_of(generate_people_csv(n, today=TODAY))
    ids = {r["employee_id"] for r in rows}
    assert ids == DEMO_IDS | {f"E{i:06d}" for i in range(1, n + 1)}


def test_generator_is_deterministic_for_a_seed() -> None:
    first = generate_people_csv(300, seed=11, today=TODAY)
    assert generate_people_csv(300, seed=11, today=TODAY) == first
    assert generate_people_csv(300, seed=12, today=TODAY) != first


@pytest.mark.parametrize("seed", [7, 8, 2026])
def test_ana_is_top_and_ben_third_quartile_in_site_a_billing(seed: int) -> None:
    rows = rows_of(generate_people_csv(3000, seed=seed, today=TODAY))
    latest = "2026-Q3"
    group = {
        r["employee_id"]: float(r["call_resolution"])
        for r in rows
        if r["site"] == "Site A"
        and r["line_of_business"] == "Billing"
        and r["period"] == latest
    }
    values = list(group.values())
    assert len(values) > 100
    assert quartile(values, group["DEMO-ANA"]) == 1
    assert quartile(values, group["DEMO-BEN"]) == 3


def test_demo_users_have_their_stories() -> None:
    rows = rows_of(generate_people_csv(50, today=TODAY))
    first = {r["employee_id"]: r for r in reversed(rows)}
    ana, ben, carla = first["DEMO-ANA"], first["DEMO-BEN"], first["DEMO-CARLA"]
    assert months_between(date.fromisoformat(ana["hire_date"]), TODAY) == 14
    assert (ana["disciplinary_action"], ana["performance_improvement_plan"]) == (
        "no",
        "no",
    )
    assert (ana["review_score"], ana["review_scale"]) == ("2.6", "3")
    assert months_between(date.fromisoformat(ben["hire_date"]), TODAY) == 5
    assert ben["review_score"] == "2.4"
    assert carla["performance_improvement_plan"] == "yes"
    emails = {r["employee_id"]: r["email"] for r in rows}
    assert emails["DEMO-INES"] == "ines.duarte@example.com"
    assert emails["DEMO-BEN"] == "ben.okafor@example.com"


def test_population_looks_like_a_contact_centre() -> None:
    rows = rows_of(generate_people_csv(4000, today=TODAY))
    people = {r["employee_id"]: r for r in rows if r["employee_id"].startswith("E")}
    tenure_years = [
        (TODAY - date.fromisoformat(p["hire_date"])).days / 365 for p in people.values()
    ]
    assert max(tenure_years) <= 8.01
    assert sum(t < 1 for t in tenure_years) / len(people) > 0.4
    disciplinary = sum(p["disciplinary_action"] == "yes" for p in people.values())
    pip = sum(p["performance_improvement_plan"] == "yes" for p in people.values())
    assert 0.03 < disciplinary / len(people) < 0.07
    assert 0.02 < pip / len(people) < 0.06
    reviews = [float(p["review_score"]) for p in people.values()]
    assert min(reviews) >= 1.0
    assert max(reviews) <= 3.0
    assert 2.1 < statistics.mean(reviews) < 2.3
    kpi_rows = [r for r in rows if r["period"]]
    for column, low, high in (
        ("call_resolution", 70, 95),
        ("quality_score", 65, 98),
        ("csat", 70, 97),
    ):
        values = [float(r[column]) for r in kpi_rows]
        assert low <= min(values)
        assert max(values) <= high
    fcr = [float(r["call_resolution"]) for r in kpi_rows]
    csat = [float(r["csat"]) for r in kpi_rows]
    assert statistics.correlation(fcr, csat) > 0.5
    medians = {
        site: statistics.median(
            float(r["call_resolution"])
            for r in kpi_rows
            if r["site"] == site and r["period"] == "2026-Q3"
        )
        for site in ("Site A", "Site B", "Site C")
    }
    assert len(set(medians.values())) == 3


def test_nobody_has_kpis_for_a_period_before_they_were_hired() -> None:
    rows = rows_of(generate_people_csv(1000, today=TODAY))
    for r in rows:
        if r["period"]:
            assert period_end(r["period"]) >= date.fromisoformat(r["hire_date"])
        else:
            assert date.fromisoformat(r["hire_date"]) > period_end("2026-Q3")


def test_generated_file_imports_cleanly_and_links_nothing_twice(
    engine: sa.Engine, clock: FakeClock
) -> None:
    with orm.Session(engine) as session:
        report = write_demo_people(session, 200, clock())
        session.commit()
        assert report.ok
        assert report.people_created == 204
        again = write_demo_people(session, 200, clock())
        assert (again.people_unchanged, again.kpi_values_written) == (204, 0)


def test_a_twenty_thousand_row_generated_import_runs(
    engine: sa.Engine, clock: FakeClock
) -> None:
    text = generate_people_csv(9000, today=clock().date())
    assert text.count("\n") > 20_000
    with orm.Session(engine) as session:
        report = import_people_csv(session, text.encode(), clock())
        session.commit()
        assert report.ok
        assert report.rows == text.count("\n") - 1
        kpi_count = session.scalar(sa.select(sa.func.count()).select_from(KpiValue))
        assert kpi_count == report.kpi_values_written
        assert session.scalar(sa.select(sa.func.count()).select_from(Person)) == 9004


def test_demo_data_command_writes_and_imports(app: Flask, tmp_path: Path) -> None:
    register_people_commands(app)
    out = tmp_path / "demo.csv"
    runner = app.test_cli_runner()
    written = runner.invoke(args=["demo-data", "--people", "30", "--out", str(out)])
    assert written.exit_code == 0, written.output
    assert "DEMO-ANA" in out.read_text(encoding="utf-8")
    imported = runner.invoke(args=["demo-data", "--people", "30", "--seed", "3"])
    assert imported.exit_code == 0, imported.output
    assert "people: 34 created" in imported.output
    reimport = runner.invoke(args=["people", "import", str(out)])
    assert reimport.exit_code == 0, reimport.output
