"""Program files load into Program values, and every problem is reported with its place."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from lti_tool.domain.programs import (
    AssessmentKind,
    EvidenceType,
    ItemKind,
    RuleKind,
)
from lti_tool.programs import (
    MAX_FILE_BYTES,
    LoadedProgram,
    ProgramFileError,
    ProgramIssue,
    load_program_file,
    parse_program,
)

PROGRAMS_DIR = Path(__file__).resolve().parents[3] / "config" / "programs"

HEAD = """\
[program]
id = "demo"
version = "2024.1"
title = "Demo program"
organisation = "Example Contact Centre"
duration_months = 9
auto_progress = true

[completion]
post_test_threshold = 0.8
rotation_threshold = 0.7
"""

ITEMS = """
[[items]]
id = "q-single"
kind = "single_choice"
prompt = "Pick one"
choices = [{ id = "a", text = "A" }, { id = "b", text = "B" }]
correct = ["b"]
explanation = "B is right"

[[items]]
id = "q-multi"
kind = "multiple_choice"
partial_credit = true
prompt = "Pick some"
choices = [{ id = "a", text = "A" }, { id = "b", text = "B" }, { id = "c", text = "C" }]
correct = ["a", "c"]
points = 2

[[items]]
id = "q-tf"
kind = "true_false"
prompt = "True?"
correct = ["false"]

[[items]]
id = "q-num"
kind = "numeric"
prompt = "FCR in %?"
answer = 90
tolerance = 0.5
unit = "%"
"""

TIERS = """
[[tiers]]
id = "foundation"
title = "Tier 1"
description = "First tier"
skills = ["Coaching"]
expiry_months = 24

  [[tiers.eligibility]]
  id = "tenure"
  rule = "min_tenure_months"
  months = 6

  [[tiers.eligibility]]
  id = "hr"
  rule = "hr_good_standing"

  [[tiers.eligibility]]
  id = "review"
  rule = "min_review_score"
  above = 2
  scale = 3.0

  [[tiers.eligibility]]
  id = "fcr-quartile"
  rule = "kpi_quartile"
  kpi = "call_resolution"
  allowed_quartiles = [1, 2]

  [[tiers.eligibility]]
  id = "fcr-average"
  rule = "kpi_at_least_average"
  kpi = "quality_score"
  fallback_average = 88.0
  min_group_size = 5

  [[tiers.eligibility]]
  id = "csat-min"
  rule = "kpi_minimum"
  kpi = "csat"
  minimum = 80

  [[tiers.modules]]
  id = "business-model"
  title = "Business model"
  hours = 1.5
  content_url = "https://lms.example.com/courses/business-model"

    [tiers.modules.pre_test]
    forms = [{ id = "A", items = ["q-single", "q-tf"] }]
    max_attempts = 1

    [tiers.modules.post_test]
    forms = [{ id = "B", items = ["q-multi", "q-num"] }, { id = "C", items = ["q-tf"] }]
    max_attempts = 3
    shuffle_choices = false
    time_limit_minutes = 20

  [[tiers.rotations]]
  id = "reporting"
  title = "Reporting"
  checklist = ["Pull the SLA report"]
  evidence = ["file", "call_id"]

    [[tiers.rotations.rubric]]
    id = "accuracy"
    title = "Accuracy"
    levels = [
      { label = "Needs work", points = 0, descriptor = "Many errors" },
      { label = "Meets", points = 2, descriptor = "Few errors" },
    ]

  [[tiers.requirements]]
  id = "mentoring"
  title = "Mentoring"
  weeks = 12

[[tiers]]
id = "advanced"
title = "Tier 2"
prerequisites = ["foundation"]
move = "lateral"

  [tiers.completion]
  rotation_threshold = 0.9

  [[tiers.modules]]
  id = "coaching"
  title = "Coaching"
  hours = 2

    [tiers.modules.pre_test]
    forms = [{ id = "A", items = ["q-single"] }]

    [tiers.modules.post_test]
    forms = [{ id = "B", items = ["q-single"] }]
    pass_threshold = 0.5
"""

VALID = HEAD + ITEMS + TIERS


def _issues(
    text: str | bytes,
    banks: dict[str, bytes] | None = None,
    filename: str = "programs/demo.toml",
) -> list[ProgramIssue]:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(ProgramFileError) as caught:
        parse_program(data, filename, bank_loader=_banks(banks or {}))
    return list(caught.value.issues)


def _banks(files: dict[str, bytes]) -> Callable[[str], bytes]:
    def load(relative: str) -> bytes:
        if relative not in files:
            raise FileNotFoundError(2, "No such file or directory")
        return files[relative]

    return load


def _single(issues: list[ProgramIssue]) -> ProgramIssue:
    assert len(issues) == 1, [str(issue) for issue in issues]
    return issues[0]


def _replace(old: str, new: str, text: str = VALID) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_valid_program_builds_every_value() -> None:
    loaded = parse_program(VALID.encode(), "demo.toml")
    program = loaded.program
    assert (program.id, program.version, program.duration_months) == (
        "demo",
        "2024.1",
        9,
    )
    assert (program.auto_enrol, program.auto_progress) == (True, True)
    assert list(program.items) == ["q-single", "q-multi", "q-tf", "q-num"]
    single, multi = program.items["q-single"], program.items["q-multi"]
    assert single.kind is ItemKind.SINGLE_CHOICE
    assert [choice.id for choice in single.choices] == ["a", "b"]
    assert (single.correct, single.explanation) == (("b",), "B is right")
    assert (multi.correct, multi.points, multi.partial_credit) == (
        ("a", "c"),
        2.0,
        True,
    )
    assert program.items["q-tf"].correct == ("false",)
    numeric = program.items["q-num"]
    assert (numeric.answer, numeric.tolerance, numeric.unit) == (90.0, 0.5, "%")

    foundation, advanced = program.tiers
    assert (foundation.order, advanced.order) == (0, 1)
    assert advanced.prerequisites == ("foundation",)
    assert (foundation.move, advanced.move, foundation.expiry_months) == (
        "upward",
        "lateral",
        24,
    )
    assert foundation.completion.post_test_threshold == 0.8
    assert advanced.completion.post_test_threshold == 0.8
    assert advanced.completion.rotation_threshold == 0.9

    module = foundation.modules[0]
    assert (module.hours, module.content_url) == (
        1.5,
        "https://lms.example.com/courses/business-model",
    )
    assert module.pre_test.kind is AssessmentKind.PRE
    assert module.pre_test.id == "business-model-pre"
    assert (module.pre_test.pass_threshold, module.pre_test.max_attempts) == (0.0, 1)
    post = module.post_test
    assert (post.kind, post.pass_threshold, post.max_attempts) == (
        AssessmentKind.POST,
        0.8,
        3,
    )
    assert (post.shuffle_items, post.shuffle_choices, post.time_limit_minutes) == (
        True,
        False,
        20,
    )
    assert [(form.id, form.item_ids) for form in post.forms] == [
        ("B", ("q-multi", "q-num")),
        ("C", ("q-tf",)),
    ]
    assert advanced.modules[0].post_test.pass_threshold == 0.5
    assert advanced.modules[0].content_url is None

    rotation = foundation.rotations[0]
    assert rotation.evidence_types == (EvidenceType.FILE, EvidenceType.CALL_ID)
    assert rotation.max_points == 2.0
    assert [level.label for level in rotation.rubric[0].levels] == [
        "Needs work",
        "Meets",
    ]
    assert foundation.requirements[0].weeks == 12
    assert foundation.hours == 1.5


def test_eligibility_rules_carry_their_parameters_and_group_defaults() -> None:
    rules = {
        rule.id: rule
        for rule in parse_program(VALID.encode(), "d.toml").program.tiers[0].eligibility
    }
    assert rules["tenure"].kind is RuleKind.MIN_TENURE_MONTHS
    assert rules["tenure"].months == 6
    assert rules["hr"].kind is RuleKind.HR_GOOD_STANDING
    assert (rules["review"].above, rules["review"].scale) == (2.0, 3.0)
    quartile = rules["fcr-quartile"]
    assert (quartile.kpi, quartile.allowed_quartiles) == ("call_resolution", (1, 2))
    assert quartile.group_by == ("site", "line_of_business")
    average = rules["fcr-average"]
    assert (average.group_by, average.fallback_average, average.min_group_size) == (
        ("site",),
        88.0,
        5,
    )
    assert (rules["csat-min"].kpi, rules["csat-min"].minimum) == ("csat", 80.0)


def test_content_hash_is_sha256_of_the_file_without_banks() -> None:
    loaded = parse_program(VALID.encode(), "demo.toml")
    assert loaded.content_hash == hashlib.sha256(VALID.encode()).hexdigest()
    assert loaded.files == ("demo.toml",)


def test_utf8_bom_is_accepted() -> None:
    loaded = parse_program(b"\xef\xbb\xbf" + VALID.encode(), "demo.toml")
    assert loaded.program.id == "demo"


def test_issue_prints_as_file_path_problem() -> None:
    issue = ProgramIssue(
        "step.toml",
        "tiers[0].modules[2].post_test.forms[0].items[3]",
        'unknown item "gs-09"',
    )
    assert (
        str(issue)
        == 'step.toml: tiers[0].modules[2].post_test.forms[0].items[3]: unknown item "gs-09"'
    )
    assert (
        str(ProgramIssue("step.toml", "", "file is empty"))
        == "step.toml: file is empty"
    )


SINGLE = """[[items]]
id = "q-single"
kind = "single_choice"
prompt = "Pick one"
choices = [{ id = "a", text = "A" }, { id = "b", text = "B" }]
correct = ["b"]"""


@pytest.mark.parametrize(
    ("old", "new", "path", "fragment"),
    [
        pytest.param(
            "post_test_threshold = 0.8\n",
            "post_test_threshold = 0.8\npass_treshold = 1\n",
            "completion.pass_treshold",
            'unknown key "pass_treshold"',
            id="unknown-key",
        ),
        pytest.param(
            "    pass_threshold = 0.5\n",
            "    pass_treshold = 0.5\n",
            "tiers[1].modules[0].post_test.pass_treshold",
            '(did you mean "pass_threshold"?)',
            id="typo-suggestion",
        ),
        pytest.param(
            'title = "Demo program"\n',
            "",
            "program",
            'missing required key "title"',
            id="missing-program-title",
        ),
        pytest.param(
            "  hours = 2\n",
            "",
            "tiers[1].modules[0]",
            'missing required key "hours"',
            id="missing-module-hours",
        ),
        pytest.param(
            "    pass_threshold = 0.5\n",
            '    pass_threshold = "high"\n',
            "tiers[1].modules[0].post_test.pass_threshold",
            'must be a number between 0 and 1 (got "high")',
            id="threshold-string",
        ),
        pytest.param(
            "    pass_threshold = 0.5\n",
            "    pass_threshold = 1.5\n",
            "tiers[1].modules[0].post_test.pass_threshold",
            "between 0 and 1 (got 1.5)",
            id="threshold-above-one",
        ),
        pytest.param(
            "rotation_threshold = 0.7\n",
            "rotation_threshold = true\n",
            "completion.rotation_threshold",
            "must be a number between 0 and 1 (got true)",
            id="bool-is-not-a-number",
        ),
        pytest.param(
            'version = "2024.1"',
            "version = 2024.1",
            "program.version",
            "must be a string (got 2024.1; put it in quotes)",
            id="version-number",
        ),
        pytest.param(
            "duration_months = 9",
            "duration_months = 0",
            "program.duration_months",
            "must be a whole number of at least 1 (got 0)",
            id="duration-zero",
        ),
        pytest.param(
            "auto_progress = true",
            'auto_progress = "yes"',
            "program.auto_progress",
            'must be true or false (got "yes")',
            id="flag-string",
        ),
        pytest.param(
            'id = "demo"',
            'id = "Demo_Program"',
            "program.id",
            "lowercase letters, digits and hyphens",
            id="bad-program-id",
        ),
        pytest.param(
            '{ id = "C", items = ["q-tf"] }',
            '{ id = "C_1", items = ["q-tf"] }',
            "tiers[0].modules[0].post_test.forms[1].id",
            "letters, digits and hyphens",
            id="bad-form-id",
        ),
        pytest.param(
            'unit = "%"\n',
            'unit = "%"\n\n' + SINGLE,
            "items[4].id",
            'duplicate item id "q-single" (already defined at items[0])',
            id="duplicate-item",
        ),
        pytest.param(
            'id = "advanced"\ntitle = "Tier 2"\nprerequisites = ["foundation"]',
            'id = "foundation"\ntitle = "Tier 2"\nprerequisites = []',
            "tiers[1].id",
            'duplicate tier id "foundation"',
            id="duplicate-tier",
        ),
        pytest.param(
            'id = "coaching"',
            'id = "business-model"',
            "tiers[1].modules[0].id",
            'duplicate module id "business-model" (already used at tiers[0].modules[0].id)',
            id="duplicate-module-across-tiers",
        ),
        pytest.param(
            '{ id = "C", items = ["q-tf"] }',
            '{ id = "B", items = ["q-tf"] }',
            "tiers[0].modules[0].post_test.forms[1].id",
            'duplicate form id "B"',
            id="duplicate-form",
        ),
        pytest.param(
            'id = "hr"',
            'id = "tenure"',
            "tiers[0].eligibility[1].id",
            'duplicate rule id "tenure"',
            id="duplicate-rule",
        ),
        pytest.param(
            '"q-multi", "q-num"',
            '"q-multi", "gs-09"',
            "tiers[0].modules[0].post_test.forms[0].items[1]",
            'unknown item "gs-09"',
            id="unknown-item-in-form",
        ),
        pytest.param(
            '"q-multi", "q-num"',
            '"q-multi", "q-multi"',
            "tiers[0].modules[0].post_test.forms[0].items[1]",
            'item "q-multi" is listed twice',
            id="item-twice-in-form",
        ),
        pytest.param(
            '{ id = "C", items = ["q-tf"] }',
            '{ id = "C", items = [] }',
            "tiers[0].modules[0].post_test.forms[1].items",
            "must list at least one item",
            id="empty-form",
        ),
        pytest.param(
            'forms = [{ id = "B", items = ["q-single"] }]',
            "forms = []",
            "tiers[1].modules[0].post_test.forms",
            "must have at least one form",
            id="no-forms",
        ),
        pytest.param(
            'title = "Tier 1"\n',
            'title = "Tier 1"\nprerequisites = ["advanced"]\n',
            "tiers[0].prerequisites[0]",
            'prerequisite "advanced" is not an earlier tier',
            id="later-tier-prerequisite",
        ),
        pytest.param(
            'prerequisites = ["foundation"]',
            'prerequisites = ["advanced"]',
            "tiers[1].prerequisites[0]",
            "a tier cannot require itself",
            id="self-prerequisite",
        ),
        pytest.param(
            'move = "lateral"',
            'move = "sideways"',
            "tiers[1].move",
            'must be one of "upward", "lateral" (got "sideways")',
            id="bad-move",
        ),
        pytest.param(
            "expiry_months = 24",
            "expiry_months = 0",
            "tiers[0].expiry_months",
            "at least 1",
            id="expiry-zero",
        ),
        pytest.param(
            "  months = 6\n",
            "  months = -1\n",
            "tiers[0].eligibility[0].months",
            "at least 0 (got -1)",
            id="negative-tenure",
        ),
        pytest.param(
            "  months = 6\n",
            "",
            "tiers[0].eligibility[0]",
            'missing required key "months"',
            id="rule-missing-parameter",
        ),
        pytest.param(
            "  minimum = 80\n",
            "  minimum = 80\n  months = 3\n",
            "tiers[0].eligibility[5].months",
            '"months" does not apply to rule "kpi_minimum"',
            id="parameter-of-another-rule",
        ),
        pytest.param(
            '  rule = "hr_good_standing"',
            '  rule = "hr_good_standin"',
            "tiers[0].eligibility[1].rule",
            '(did you mean "hr_good_standing"?)',
            id="unknown-rule-kind",
        ),
        pytest.param(
            "  above = 2\n",
            "  above = 3\n",
            "tiers[0].eligibility[2].above",
            "must be less than scale (3) (got 3)",
            id="review-above-scale",
        ),
        pytest.param(
            '  kpi = "csat"',
            '  kpi = "aht"',
            "tiers[0].eligibility[5].kpi",
            'must be one of "call_resolution", "quality_score", "csat" (got "aht")',
            id="unknown-kpi",
        ),
        pytest.param(
            "allowed_quartiles = [1, 2]",
            "allowed_quartiles = [1, 5]",
            "tiers[0].eligibility[3].allowed_quartiles[1]",
            "must be a quartile 1, 2, 3 or 4 (got 5)",
            id="quartile-five",
        ),
        pytest.param(
            "allowed_quartiles = [1, 2]",
            "allowed_quartiles = []",
            "tiers[0].eligibility[3].allowed_quartiles",
            "non-empty list of quartiles",
            id="no-quartiles",
        ),
        pytest.param(
            "allowed_quartiles = [1, 2]",
            'allowed_quartiles = [1, 2]\n  group_by = ["region"]',
            "tiers[0].eligibility[3].group_by[0]",
            'must be one of "site", "line_of_business" (got "region")',
            id="bad-group-by",
        ),
        pytest.param(
            "  minimum = 80\n",
            "  minimum = 120\n",
            "tiers[0].eligibility[5].minimum",
            "between 0 and 100 (got 120)",
            id="kpi-minimum-above-100",
        ),
        pytest.param(
            "fallback_average = 88.0",
            "fallback_average = -1",
            "tiers[0].eligibility[4].fallback_average",
            "between 0 and 100",
            id="fallback-negative",
        ),
        pytest.param(
            "min_group_size = 5",
            "min_group_size = 0",
            "tiers[0].eligibility[4].min_group_size",
            "at least 1",
            id="group-size-zero",
        ),
        pytest.param(
            "  hours = 1.5\n",
            "  hours = 0\n",
            "tiers[0].modules[0].hours",
            "greater than 0 and at most 200 (got 0)",
            id="hours-zero",
        ),
        pytest.param(
            "  hours = 1.5\n",
            "  hours = 201\n",
            "tiers[0].modules[0].hours",
            "at most 200 (got 201)",
            id="hours-over-200",
        ),
        pytest.param(
            "https://lms.example.com/courses/business-model",
            "ftp://lms.example.com/x",
            "tiers[0].modules[0].content_url",
            'must be an http(s) URL (got "ftp://lms.example.com/x")',
            id="ftp-url",
        ),
        pytest.param(
            "    max_attempts = 3\n",
            "    max_attempts = 0\n",
            "tiers[0].modules[0].post_test.max_attempts",
            "at least 1 (got 0)",
            id="zero-attempts",
        ),
        pytest.param(
            '    [tiers.modules.pre_test]\n    forms = [{ id = "A", items = ["q-single"] }]\n',
            "",
            "tiers[1].modules[0]",
            'missing required key "pre_test"',
            id="missing-pre-test",
        ),
        pytest.param(
            'checklist = ["Pull the SLA report"]',
            "checklist = []",
            "tiers[0].rotations[0].checklist",
            "must not be empty",
            id="empty-checklist",
        ),
        pytest.param(
            'evidence = ["file", "call_id"]',
            'evidence = ["file", "video"]',
            "tiers[0].rotations[0].evidence[1]",
            '(got "video")',
            id="unknown-evidence",
        ),
        pytest.param(
            '{ label = "Meets", points = 2, descriptor = "Few errors" },',
            "",
            "tiers[0].rotations[0].rubric[0].levels",
            "must have at least two levels (got 1)",
            id="rubric-one-level",
        ),
        pytest.param(
            '{ label = "Meets", points = 2, descriptor = "Few errors" },',
            '{ label = "Meets", points = 0, descriptor = "Few errors" },',
            "tiers[0].rotations[0].rubric[0].levels[1].points",
            "must be greater than the previous level's points (0)",
            id="rubric-points-not-increasing",
        ),
        pytest.param(
            'descriptor = "Many errors"',
            'descriptor = ""',
            "tiers[0].rotations[0].rubric[0].levels[0].descriptor",
            "must not be empty",
            id="rubric-empty-descriptor",
        ),
        pytest.param(
            "  weeks = 12\n",
            "  weeks = 0\n",
            "tiers[0].requirements[0].weeks",
            "at least 1",
            id="weeks-zero",
        ),
        pytest.param(
            'correct = ["b"]',
            'correct = ["a", "b"]',
            "items[0].correct",
            "exactly one correct choice",
            id="single-choice-two-correct",
        ),
        pytest.param(
            'correct = ["b"]',
            'correct = ["e"]',
            "items[0].correct[0]",
            'unknown choice "e" (the choices are "a", "b")',
            id="single-choice-unknown-correct",
        ),
        pytest.param(
            'correct = ["a", "c"]',
            "correct = []",
            "items[1].correct",
            "at least one correct choice",
            id="multiple-choice-none-correct",
        ),
        pytest.param(
            'choices = [{ id = "a", text = "A" }, { id = "b", text = "B" }]\ncorrect = ["b"]',
            'choices = [{ id = "b", text = "B" }]\ncorrect = ["b"]',
            "items[0].choices",
            "at least two choices (got 1)",
            id="one-choice",
        ),
        pytest.param(
            '{ id = "c", text = "C" }',
            '{ id = "c", text = "C" }, { id = "a", text = "D" }',
            "items[1].choices[3].id",
            'duplicate choice id "a"',
            id="duplicate-choice",
        ),
        pytest.param(
            'correct = ["false"]',
            'correct = ["maybe"]',
            "items[2].correct",
            'must be ["true"] or ["false"]',
            id="true-false-bad-answer",
        ),
        pytest.param(
            'prompt = "True?"',
            'prompt = "True?"\nchoices = [{ id = "a", text = "A" }]',
            "items[2].choices",
            '"choices" does not apply to a true_false item',
            id="true-false-with-choices",
        ),
        pytest.param(
            "tolerance = 0.5",
            "tolerance = -0.5",
            "items[3].tolerance",
            "at least 0 (got -0.5)",
            id="negative-tolerance",
        ),
        pytest.param(
            "answer = 90\n",
            "",
            "items[3]",
            'missing required key "answer"',
            id="numeric-without-answer",
        ),
        pytest.param(
            "points = 2\n",
            "points = 0\n",
            "items[1].points",
            "greater than 0 (got 0)",
            id="zero-points",
        ),
        pytest.param(
            'prompt = "Pick some"',
            'prompt = " "',
            "items[1].prompt",
            "must not be empty",
            id="blank-prompt",
        ),
        pytest.param(
            'kind = "numeric"',
            'kind = "essay"',
            "items[3].kind",
            'must be one of "single_choice", "multiple_choice", "true_false", "numeric" (got "essay")',
            id="unknown-item-kind",
        ),
        pytest.param(
            'unit = "%"\n',
            'unit = "%"\n\n[[items]]\nid = "Q TF"\nkind = "true_false"\nprompt = "?"\ncorrect = ["true"]\n',
            "items[4].id",
            "lowercase letters",
            id="bad-item-id",
        ),
        pytest.param(
            'skills = ["Coaching"]',
            'skills = "Coaching"',
            "tiers[0].skills",
            'must be a list of strings (got "Coaching")',
            id="skills-not-a-list",
        ),
    ],
)
def test_malformed_program_reports_path_and_problem(
    old: str, new: str, path: str, fragment: str
) -> None:
    issue = _single(_issues(_replace(old, new)))
    assert (issue.file, issue.path) == ("programs/demo.toml", path)
    assert fragment in issue.problem


@pytest.mark.parametrize(
    ("text", "path", "fragment"),
    [
        pytest.param(HEAD, "", 'missing required key "tiers"', id="no-tiers-key"),
        pytest.param(
            "tiers = []\n" + HEAD,
            "tiers",
            "must have at least one tier",
            id="empty-tiers",
        ),
        pytest.param(
            HEAD.replace(
                "[completion]\npost_test_threshold = 0.8\nrotation_threshold = 0.7\n",
                "",
            )
            + TIERS.replace('"q-', '"x-'),
            "",
            'missing required key "completion"',
            id="no-completion",
        ),
        pytest.param(
            "program = 3\n",
            "program",
            "must be a table (got 3)",
            id="program-not-a-table",
        ),
    ],
)
def test_malformed_document_shape_is_reported(
    text: str, path: str, fragment: str
) -> None:
    issues = _issues(text)
    assert any(issue.path == path and fragment in issue.problem for issue in issues), [
        str(i) for i in issues
    ]


@pytest.mark.parametrize(
    ("data", "path", "fragment"),
    [
        pytest.param(b"", "", "file is empty", id="empty"),
        pytest.param(b"  \n\n", "", "file is empty", id="whitespace-only"),
        pytest.param(
            b'[program]\nid = "caf\xe9"\n',
            "byte 19",
            "not valid UTF-8 (byte 0xe9 on line 2)",
            id="latin-1",
        ),
        pytest.param(
            b"\xef\xbb\xbf\xff", "byte 3", "not valid UTF-8", id="bad-byte-after-bom"
        ),
        pytest.param(
            b'[program]\nid "demo"\n',
            "line 2, column 4",
            "TOML syntax error: Expected '='",
            id="toml-syntax",
        ),
        pytest.param(
            b"[program]\n[program]\n",
            "line 2, column 9",
            "TOML syntax error",
            id="toml-duplicate-table",
        ),
        pytest.param(
            b"#" * (MAX_FILE_BYTES + 1),
            "",
            f"larger than the limit of {MAX_FILE_BYTES} bytes",
            id="too-large",
        ),
    ],
)
def test_unreadable_file_is_one_issue(data: bytes, path: str, fragment: str) -> None:
    issue = _single(_issues(data))
    assert issue.path == path
    assert fragment in issue.problem


def test_several_problems_are_reported_together() -> None:
    text = _replace("points = 2\n", "points = 0\n")
    text = _replace('"q-multi", "q-num"', '"q-multi", "gs-09"', text)
    text = _replace("expiry_months = 24", "expiry_mnths = 24", text)
    issues = _issues(text)
    assert [issue.path for issue in issues] == [
        "items[1].points",
        "tiers[0].expiry_mnths",
        "tiers[0].modules[0].post_test.forms[0].items[1]",
    ]
    assert '(did you mean "expiry_months"?)' in issues[1].problem
    with pytest.raises(ProgramFileError, match="3 problems") as caught:
        parse_program(text.encode(), "demo.toml")
    assert "demo.toml: items[1].points: must be a number greater than 0" in str(
        caught.value
    )


# ---- item banks ----------------------------------------------------------------------

BANK = b"""
[[items]]
id = "bank-01"
kind = "true_false"
prompt = "From the bank"
correct = ["true"]
"""

WITH_BANK = _replace(
    "auto_progress = true\n",
    'auto_progress = true\nitem_banks = ["banks/extra.toml"]\n',
    _replace('"q-multi", "q-num"', '"q-multi", "bank-01"'),
)


def test_bank_items_join_the_inline_items() -> None:
    loaded = parse_program(
        WITH_BANK.encode(),
        "programs/demo.toml",
        bank_loader=_banks({"banks/extra.toml": BANK}),
    )
    assert list(loaded.program.items)[-1] == "bank-01"
    assert loaded.program.items["bank-01"].kind is ItemKind.TRUE_FALSE
    assert loaded.files == ("programs/demo.toml", "programs/banks/extra.toml")
    assert loaded.content_hash == hashlib.sha256(WITH_BANK.encode() + BANK).hexdigest()


def test_content_hash_changes_when_a_bank_file_changes() -> None:
    def hash_with(bank: bytes) -> str:
        return parse_program(
            WITH_BANK.encode(),
            "demo.toml",
            bank_loader=_banks({"banks/extra.toml": bank}),
        ).content_hash

    assert hash_with(BANK) != hash_with(
        BANK.replace(b"From the bank", b"From the bank, edited")
    )


@pytest.mark.parametrize(
    ("bank_path", "fragment"),
    [
        pytest.param("../shared/bank.toml", '".." is not allowed', id="parent"),
        pytest.param(
            "banks/../../bank.toml", '".." is not allowed', id="parent-inside"
        ),
        pytest.param(
            "/etc/bank.toml",
            "must be a path relative to the program file's directory",
            id="absolute",
        ),
        pytest.param(
            "C:/banks/bank.toml", "must be a path relative", id="windows-drive"
        ),
        pytest.param("banks\\bank.toml", "forward slashes", id="backslash"),
        pytest.param(
            "banks/missing.toml",
            'cannot read item bank "banks/missing.toml": No such file or directory',
            id="missing",
        ),
    ],
)
def test_bank_path_outside_the_directory_is_refused(
    bank_path: str, fragment: str
) -> None:
    text = _replace(
        '"banks/extra.toml"', f'"{bank_path}"'.replace("\\", "\\\\"), WITH_BANK
    )
    issues = _issues(text, {"banks/extra.toml": BANK})
    assert _single(issues).path == "program.item_banks[0]"
    assert fragment in _single(issues).problem


def test_duplicate_id_across_bank_and_inline_names_both_files() -> None:
    bank = BANK.replace(b'"bank-01"', b'"q-tf"')
    text = _replace('"q-multi", "bank-01"', '"q-multi", "q-num"', WITH_BANK)
    issue = _single(_issues(text, {"banks/extra.toml": bank}))
    assert (issue.file, issue.path) == ("programs/banks/extra.toml", "items[0].id")
    assert (
        issue.problem
        == 'duplicate item id "q-tf" (already defined in programs/demo.toml at items[2])'
    )


@pytest.mark.parametrize(
    ("bank", "path", "fragment"),
    [
        pytest.param(
            BANK + b"\n[program]\n",
            "program",
            "an item bank file holds only [[items]] tables",
            id="other-table",
        ),
        pytest.param(
            b"[[items]]\nid = 3\n", "items[0].id", "must be an id", id="bad-item"
        ),
        pytest.param(
            b"[[items]\n", "line 1, column 8", "TOML syntax error", id="syntax"
        ),
        pytest.param(b"\xff", "byte 0", "not valid UTF-8", id="not-utf8"),
    ],
)
def test_bank_file_problems_name_the_bank_file(
    bank: bytes, path: str, fragment: str
) -> None:
    issues = _issues(WITH_BANK, {"banks/extra.toml": bank})
    bank_issues = [
        issue for issue in issues if issue.file == "programs/banks/extra.toml"
    ]
    assert any(
        issue.path == path and fragment in issue.problem for issue in bank_issues
    ), [str(i) for i in issues]


def test_banks_need_a_loader_when_parsing_bytes() -> None:
    with pytest.raises(ProgramFileError, match="no bank loader was given"):
        parse_program(WITH_BANK.encode(), "demo.toml")


def test_load_program_file_reads_banks_next_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "banks").mkdir()
    (tmp_path / "banks" / "extra.toml").write_bytes(BANK)
    (tmp_path / "demo.toml").write_text(WITH_BANK, encoding="utf-8")
    loaded = load_program_file(tmp_path / "demo.toml")
    assert loaded.files == (
        str(tmp_path / "demo.toml"),
        str(tmp_path / "banks" / "extra.toml"),
    )
    assert "bank-01" in loaded.program.items


def test_load_program_file_refuses_a_bank_symlinked_outside(tmp_path: Path) -> None:
    outside = tmp_path / "outside.toml"
    outside.write_bytes(BANK)
    program_dir = tmp_path / "programs"
    (program_dir / "banks").mkdir(parents=True)
    (program_dir / "banks" / "extra.toml").symlink_to(outside)
    (program_dir / "demo.toml").write_text(WITH_BANK, encoding="utf-8")
    with pytest.raises(
        ProgramFileError, match="resolves outside the program file's directory"
    ):
        load_program_file(program_dir / "demo.toml")


def test_missing_program_file_is_an_issue(tmp_path: Path) -> None:
    with pytest.raises(ProgramFileError) as caught:
        load_program_file(tmp_path / "nope.toml")
    issue = _single(list(caught.value.issues))
    assert (issue.path, issue.problem) == (
        "",
        "cannot read the file: No such file or directory",
    )


def test_oversized_file_on_disk_is_refused_before_parsing(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    big.write_bytes(b"x" * (MAX_FILE_BYTES + 10))
    with pytest.raises(ProgramFileError, match="larger than the limit"):
        load_program_file(big)


# ---- the shipped program files ---------------------------------------------------------

SHIPPED = sorted(PROGRAMS_DIR.glob("*.toml"))


@pytest.mark.skipif(not SHIPPED, reason="no program files in config/programs yet")
@pytest.mark.parametrize("path", SHIPPED, ids=[path.name for path in SHIPPED])
def test_shipped_program_loads_with_full_forms(path: Path) -> None:
    try:
        loaded = load_program_file(path)
    except ProgramFileError as exc:
        pytest.fail(str(exc))
    short_forms = _short_forms(loaded)
    assert not short_forms, f"forms with fewer than 8 items: {short_forms}"


def _short_forms(loaded: LoadedProgram) -> list[str]:
    return [
        f"{module.id}.{assessment.kind.value}_test.{form.id} ({len(form.item_ids)})"
        for tier in loaded.program.tiers
        for module in tier.modules
        for assessment in (module.pre_test, module.post_test)
        for form in assessment.forms
        if len(form.item_ids) < 8
    ]
