"""A small program file for tests: two tiers, auto-progression, one requirement."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from lti_tool.db.models import ProgramVersion
from lti_tool.runtime import runtime
from lti_tool.services.programs import load_program


def _items(module: str) -> str:
    parts = []
    for n in range(1, 9):
        parts.append(
            f"""
[[items]]
id = "{module}-{n:02d}"
kind = "single_choice"
prompt = "Question {n} of {module}?"
choices = [{{ id = "a", text = "Right" }}, {{ id = "b", text = "Wrong" }}]
correct = ["a"]
explanation = "Because a is right."
"""
        )
    return "".join(parts)


def _forms(module: str) -> str:
    ids = ", ".join(f'"{module}-{n:02d}"' for n in range(1, 9))
    return f"""
    [tiers.modules.pre_test]
    forms = [{{ id = "A", items = [{ids}] }}]
    max_attempts = 1

    [tiers.modules.post_test]
    forms = [{{ id = "B", items = [{ids}] }}]
    max_attempts = 2
"""


def small_program(*, auto_progress: bool = True, version: str = "1") -> str:
    """Return the TOML text of a two-tier program with one module per tier."""
    return f"""
[program]
id = "test-path"
version = "{version}"
title = "Test Career Path"
organisation = "Test Centre"
auto_enrol = true
auto_progress = {str(auto_progress).lower()}

[completion]
post_test_threshold = 0.75
rotation_threshold = 0.7
{_items("basics")}{_items("advanced")}
[[tiers]]
id = "one"
title = "Tier One"
description = "The first tier."
prerequisites = []

  [[tiers.eligibility]]
  id = "tenure"
  rule = "min_tenure_months"
  months = 6

  [[tiers.eligibility]]
  id = "review"
  rule = "min_review_score"
  above = 2.0
  scale = 3.0

  [[tiers.modules]]
  id = "basics"
  title = "Basics"
  description = "Basics of the job."
  hours = 1.0
  content_url = "https://learn.example/basics"
{_forms("basics")}
[[tiers]]
id = "two"
title = "Tier Two"
description = "The second tier."
prerequisites = ["one"]

  [[tiers.eligibility]]
  id = "tenure"
  rule = "min_tenure_months"
  months = 6

  [[tiers.modules]]
  id = "advanced"
  title = "Advanced"
  description = "More of the job."
  hours = 2.0
{_forms("advanced")}
  [[tiers.requirements]]
  id = "mentoring"
  title = "12-week mentoring"
  description = "Meet your mentor."
  weeks = 12
"""


def install_program(
    app: Flask, directory: Path, text: str, name: str = "test.toml"
) -> ProgramVersion:
    """Write a program file and load it into the tool's database."""
    path = directory / name
    path.write_text(text, encoding="utf-8")
    rt = runtime(app)
    with rt.session_factory() as session:
        version = load_program(session, path, rt.clock()).version
        session.commit()
    return version


def rotation_program() -> str:
    """One tier with one module and two job rotations (files/notes; call ids/links)."""
    return f"""
[program]
id = "rot-path"
version = "1"
title = "Rotation Path"
organisation = "Test Centre"
auto_enrol = true

[completion]
post_test_threshold = 0.75
rotation_threshold = 0.7
{_items("basics")}
[[tiers]]
id = "one"
title = "Tier One"
description = "The first tier."
prerequisites = []

  [[tiers.eligibility]]
  id = "tenure"
  rule = "min_tenure_months"
  months = 6

  [[tiers.modules]]
  id = "basics"
  title = "Basics"
  description = "Basics of the job."
  hours = 1.0
{_forms("basics")}
  [[tiers.rotations]]
  id = "reporting"
  title = "Reporting"
  description = "Pull and check the daily report."
  checklist = ["Pull the report", "Check the figures", "Send it to your supervisor"]
  evidence = ["file", "note"]

    [[tiers.rotations.rubric]]
    id = "accuracy"
    title = "Accuracy"
    levels = [
      {{ label = "Needs work", points = 1, descriptor = "Figures are wrong." }},
      {{ label = "Meets", points = 2, descriptor = "Figures match." }},
      {{ label = "Exceeds", points = 3, descriptor = "Figures match and gaps are flagged." }},
    ]

    [[tiers.rotations.rubric]]
    id = "summary"
    title = "Summary"
    levels = [
      {{ label = "Needs work", points = 1, descriptor = "No summary." }},
      {{ label = "Meets", points = 2, descriptor = "Plain summary." }},
      {{ label = "Exceeds", points = 3, descriptor = "Explains the drivers." }},
    ]

  [[tiers.rotations]]
  id = "escalations"
  title = "Escalations"
  description = "Handle escalated calls."
  checklist = ["Take an escalated call"]
  evidence = ["call_id", "ticket_id", "link"]

    [[tiers.rotations.rubric]]
    id = "handling"
    title = "Handling"
    levels = [
      {{ label = "Needs work", points = 0, descriptor = "Escalated further." }},
      {{ label = "Meets", points = 2, descriptor = "Resolved." }},
    ]
"""
