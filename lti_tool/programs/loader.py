"""Load a program file (docs/program-format.md) into a validated `Program`.

Every problem in the file and its item banks is collected and raised together
in one `ProgramFileError`, each with the file, the path in the document and a
plain description, so an author can fix a file in one pass.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from urllib.parse import urlsplit

from lti_tool.domain.programs import (
    Assessment,
    AssessmentKind,
    Choice,
    CompletionRule,
    EligibilityRule,
    EvidenceType,
    Form,
    Item,
    ItemKind,
    LearningModule,
    Program,
    Requirement,
    Rotation,
    RubricCriterion,
    RubricLevel,
    RuleKind,
    Tier,
)
from lti_tool.programs.issues import ProgramFileError, ProgramIssue
from lti_tool.programs.reader import (
    FORM_ID_PATTERN,
    FORM_ID_RULE,
    MAX_FILE_BYTES,
    Reporter,
    Table,
    describe,
    join,
    number_text,
    parse_toml,
    quoted,
    suggestion,
)

__all__ = [
    "MAX_FILE_BYTES",
    "LoadedProgram",
    "ProgramFileError",
    "ProgramIssue",
    "load_program_file",
    "parse_program",
]

KPIS = ("call_resolution", "quality_score", "csat")
GROUP_BY = ("site", "line_of_business")
MOVES = ("upward", "lateral")
MAX_MODULE_HOURS = 200.0

_ITEM_KEYS: dict[ItemKind, tuple[tuple[str, ...], tuple[str, ...]]] = {
    ItemKind.SINGLE_CHOICE: (("choices", "correct"), ()),
    ItemKind.MULTIPLE_CHOICE: (("choices", "correct"), ("partial_credit",)),
    ItemKind.TRUE_FALSE: (("correct",), ()),
    ItemKind.NUMERIC: (("answer",), ("tolerance", "unit")),
}
_ITEM_KIND_KEYS = frozenset(
    key for req, opt in _ITEM_KEYS.values() for key in (*req, *opt)
)

_RULE_PARAMS: dict[RuleKind, tuple[tuple[str, ...], tuple[str, ...]]] = {
    RuleKind.MIN_TENURE_MONTHS: (("months",), ()),
    RuleKind.HR_GOOD_STANDING: ((), ()),
    RuleKind.MIN_REVIEW_SCORE: (("above", "scale"), ()),
    RuleKind.KPI_QUARTILE: (("kpi", "allowed_quartiles"), ("group_by",)),
    RuleKind.KPI_AT_LEAST_AVERAGE: (
        ("kpi",),
        ("group_by", "fallback_average", "min_group_size"),
    ),
    RuleKind.KPI_MINIMUM: (("kpi", "minimum"), ()),
}
_RULE_PARAM_KEYS = frozenset(
    key for req, opt in _RULE_PARAMS.values() for key in (*req, *opt)
)
_DEFAULT_GROUP_BY: dict[RuleKind, tuple[str, ...]] = {
    RuleKind.KPI_QUARTILE: ("site", "line_of_business"),
    RuleKind.KPI_AT_LEAST_AVERAGE: ("site",),
}

_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:")


@dataclass(frozen=True)
class LoadedProgram:
    """A validated program with a fingerprint of the bytes it was built from."""

    program: Program
    content_hash: (
        str  # sha256 hex over the main file bytes, then each bank file's bytes
    )
    files: tuple[str, ...]  # the main file, then the bank files read


def load_program_file(path: str | os.PathLike[str]) -> LoadedProgram:
    """Read, parse and validate a program file and its item banks from disk."""
    name = os.fspath(path)
    try:
        data = _read_limited(Path(name))
    except OSError as exc:
        issue = ProgramIssue(name, "", f"cannot read the file: {exc.strerror or exc}")
        raise ProgramFileError([issue]) from exc
    return parse_program(data, name, bank_loader=_directory_loader(Path(name).parent))


def parse_program(
    data: bytes,
    filename: str,
    *,
    bank_loader: Callable[[str], bytes] | None = None,
) -> LoadedProgram:
    """Parse and validate a program file's bytes; raise ProgramFileError with every problem.

    `bank_loader` is called with each `item_banks` path as written (already checked
    to be relative and free of ".."), and returns that file's bytes or raises
    OSError. Without one, a program that names item banks is refused.
    """
    reporter = Reporter()
    document = parse_toml(reporter, data, filename)
    if document is None:
        raise ProgramFileError(reporter.issues)
    digest = hashlib.sha256(data)
    files = [filename]
    root = Table(reporter, filename, "", document)
    root.check_keys(("program", "completion", "tiers"), ("items",))
    program_table = root.table("program")
    head = program_table or root.empty("program")
    if program_table is not None:
        head.check_keys(
            ("id", "version", "title", "organisation"),
            (
                "description",
                "duration_months",
                "auto_enrol",
                "auto_progress",
                "source",
                "item_banks",
            ),
        )

    item_tables = root.tables("items")
    problems_before_banks = len(reporter.issues)
    banks = _read_banks(head, filename, bank_loader)
    # An unreadable bank would make every item it holds "unknown": say it once.
    banks_complete = len(reporter.issues) == problems_before_banks
    for bank_file, bank_bytes, bank_root in banks:
        digest.update(bank_bytes)
        files.append(bank_file)
        item_tables.extend(bank_root.tables("items"))
    items = _items(item_tables)

    completion_table = root.table("completion")
    completion = (
        _completion(completion_table, None)
        if completion_table is not None
        else CompletionRule(0.0, 0.0)
    )
    tiers = _Tiers(items, check_items=banks_complete).read(
        root.tables("tiers", at_least_one="tier"), completion
    )

    program = Program(
        id=head.ident("id"),
        version=head.text("version", nonempty=True),
        title=head.text("title", nonempty=True),
        description=head.text("description"),
        organisation=head.text("organisation", nonempty=True),
        duration_months=head.integer("duration_months", minimum=1),
        tiers=tiers,
        items=items,
        auto_enrol=head.flag("auto_enrol", True),
        auto_progress=head.flag("auto_progress", False),
        source=head.text("source"),
    )
    if reporter.issues:
        raise ProgramFileError(reporter.issues)
    return LoadedProgram(program, digest.hexdigest(), tuple(files))


def _read_limited(path: Path) -> bytes:
    """Read at most one byte more than the limit, so a huge file is never read whole."""
    with path.open("rb") as handle:
        return handle.read(MAX_FILE_BYTES + 1)


def _directory_loader(base: Path) -> Callable[[str], bytes]:
    """Return a bank loader reading paths relative to `base`, never outside it."""
    root = base.resolve()

    def load(relative: str) -> bytes:
        target = (base / relative).resolve()
        if not target.is_relative_to(root):
            raise PermissionError("it resolves outside the program file's directory")
        return _read_limited(target)

    return load


# ---- item banks -------------------------------------------------------------------


def _read_banks(
    head: Table, filename: str, bank_loader: Callable[[str], bytes] | None
) -> list[tuple[str, bytes, Table]]:
    """Read each item bank file named in [program].item_banks."""
    paths = head.strings("item_banks", nonempty=True)
    if not paths:
        return []
    directory = PurePosixPath(filename.replace("\\", "/")).parent
    seen: set[str] = set()
    banks: list[tuple[str, bytes, Table]] = []
    for index, relative in enumerate(paths):
        key = join("item_banks", index)
        problem = _unsafe_bank_path(relative)
        if problem:
            head.report(key, problem)
            continue
        normal = str(PurePosixPath(relative))
        if normal in seen:
            head.report(key, f'item bank "{relative}" is listed twice')
            continue
        seen.add(normal)
        if bank_loader is None:
            head.report(
                key, f'cannot read item bank "{relative}": no bank loader was given'
            )
            continue
        try:
            data = bank_loader(relative)
        except OSError as exc:
            head.report(
                key, f'cannot read item bank "{relative}": {exc.strerror or exc}'
            )
            continue
        bank_file = str(directory / normal)
        document = parse_toml(head.reporter, data, bank_file)
        if document is None:
            continue
        bank_root = Table(head.reporter, bank_file, "", document)
        for extra in document:
            if extra != "items":
                bank_root.report(
                    extra,
                    f'unknown key "{extra}"{suggestion(extra, ["items"])}'
                    " (an item bank file holds only [[items]] tables)",
                )
        if "items" not in document:
            bank_root.report(None, 'missing required key "items"')
        banks.append((bank_file, data, bank_root))
    return banks


def _unsafe_bank_path(relative: str) -> str:
    """Return why a bank path may not be used, or "" when it is a safe relative path."""
    if "\\" in relative:
        return f'must use forward slashes (got "{relative}")'
    if (
        PurePosixPath(relative).is_absolute()
        or PureWindowsPath(relative).is_absolute()
        or _WINDOWS_DRIVE.match(relative)
    ):
        return f'must be a path relative to the program file\'s directory (got "{relative}")'
    if ".." in PurePosixPath(relative).parts:
        return f'must stay inside the program file\'s directory; ".." is not allowed (got "{relative}")'
    return ""


# ---- items ------------------------------------------------------------------------


def _items(tables: Sequence[Table]) -> dict[str, Item]:
    """Build the item bank, reporting duplicate ids across the main file and banks."""
    items: dict[str, Item] = {}
    where: dict[str, Table] = {}
    for table in tables:
        item = _item(table)
        if not item.id:
            continue
        first = where.get(item.id)
        if first is not None:
            place = (
                f"at {first.path}"
                if first.file == table.file
                else f"in {first.file} at {first.path}"
            )
            table.report(
                "id", f'duplicate item id "{item.id}" (already defined {place})'
            )
            continue
        where[item.id] = table
        items[item.id] = item
    return items


def _item(table: Table) -> Item:
    """Build one item, checking its fields against its kind."""
    kind_value = table.choice("kind", [kind.value for kind in ItemKind])
    common = ("id", "kind", "prompt")
    optional = ("points", "explanation")
    own: tuple[str, ...] = ()
    if kind_value is None:
        table.check_keys(common, (*optional, *_ITEM_KIND_KEYS))
        kind = ItemKind.SINGLE_CHOICE
    else:
        kind = ItemKind(kind_value)
        required, own = _ITEM_KEYS[kind]
        own = (*required, *own)
        table.check_keys(
            (*common, *required),
            (*optional, *own),
            not_here={
                key: f'"{key}" does not apply to a {kind.value} item'
                for key in _ITEM_KIND_KEYS - set(own)
            },
        )
    fields = table.only(own)
    choices = _choices(fields) if fields.has("choices") else ()
    correct = _correct(fields, kind, choices) if fields.has("correct") else ()
    return Item(
        id=table.ident("id"),
        kind=kind,
        prompt=table.text("prompt", nonempty=True),
        choices=choices,
        correct=correct,
        answer=fields.number("answer"),
        tolerance=fields.number("tolerance", 0.0, low=0),
        points=table.number("points", 1.0, low=0, low_open=True),
        partial_credit=fields.flag("partial_credit", False),
        explanation=table.text("explanation"),
        unit=fields.text("unit"),
    )


def _choices(table: Table) -> tuple[Choice, ...]:
    """Build a choice item's choices: at least two, ids unique within the item."""
    choice_tables = table.tables("choices")
    if (
        table.has("choices")
        and isinstance(table.raw("choices"), list)
        and len(choice_tables) < 2
    ):
        table.report(
            "choices", f"must have at least two choices (got {len(choice_tables)})"
        )
    choices: list[Choice] = []
    seen: set[str] = set()
    for choice_table in choice_tables:
        choice_table.check_keys(("id", "text"))
        choice_id = choice_table.ident("id", FORM_ID_PATTERN, FORM_ID_RULE)
        if choice_id in seen:
            choice_table.report("id", f'duplicate choice id "{choice_id}" in this item')
        seen.add(choice_id)
        choices.append(Choice(choice_id, choice_table.text("text", nonempty=True)))
    return tuple(choices)


def _correct(
    table: Table, kind: ItemKind, choices: tuple[Choice, ...]
) -> tuple[str, ...]:
    """Check `correct` against the item's kind and choices."""
    if kind is ItemKind.NUMERIC:
        return ()
    correct = table.strings("correct")
    if correct is None:
        return ()
    if kind is ItemKind.TRUE_FALSE:
        if correct not in (["true"], ["false"]):
            table.report(
                "correct", 'must be ["true"] or ["false"] for a true_false item'
            )
        return tuple(correct)
    if kind is ItemKind.SINGLE_CHOICE and len(correct) != 1:
        table.report(
            "correct",
            f"must name exactly one correct choice for a single_choice item (got {len(correct)})",
        )
    elif not correct:
        table.report("correct", "must name at least one correct choice")
    known = [choice.id for choice in choices if choice.id]
    seen: set[str] = set()
    for index, choice_id in enumerate(correct):
        key = join("correct", index)
        if choice_id in seen:
            table.report(key, f'choice "{choice_id}" is listed twice')
        elif known and choice_id not in known:
            table.report(
                key, f'unknown choice "{choice_id}" (the choices are {quoted(known)})'
            )
        seen.add(choice_id)
    return tuple(correct)


# ---- tiers ------------------------------------------------------------------------


def _completion(table: Table, fallback: CompletionRule | None) -> CompletionRule:
    """Build a completion rule; a tier's override falls back to the program's rule."""
    keys = ("post_test_threshold", "rotation_threshold")
    if fallback is None:
        table.check_keys(keys)
        fallback = CompletionRule(0.0, 0.0)
    else:
        table.check_keys((), keys)
    return CompletionRule(
        post_test_threshold=table.number(
            "post_test_threshold", fallback.post_test_threshold, low=0, high=1
        ),
        rotation_threshold=table.number(
            "rotation_threshold", fallback.rotation_threshold, low=0, high=1
        ),
    )


class _Unique:
    """Reports ids used twice within one scope (a tier, a rotation, the program)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.first: dict[str, str] = {}

    def check(self, table: Table, value: str, key: str = "id") -> None:
        """Record an id read from `table[key]`, reporting it if already used."""
        if not value:
            return
        if value in self.first:
            table.report(
                key,
                f'duplicate {self.what} "{value}" (already used at {self.first[value]})',
            )
        else:
            self.first[value] = join(table.path, key)


class _Tiers:
    """Builds the tiers in order, checking ids unique across the whole program."""

    def __init__(self, items: dict[str, Item], *, check_items: bool) -> None:
        self.items = items
        self.check_items = check_items
        self.tier_ids = _Unique("tier id")
        self.module_ids = _Unique("module id")
        self.rotation_ids = _Unique("rotation id")

    def read(
        self, tables: Sequence[Table], completion: CompletionRule
    ) -> tuple[Tier, ...]:
        """Build every tier."""
        earlier: list[str] = []
        tiers: list[Tier] = []
        for order, table in enumerate(tables):
            tier = self.tier(table, order, earlier, completion)
            tiers.append(tier)
            if tier.id:
                earlier.append(tier.id)
        return tuple(tiers)

    def tier(
        self,
        table: Table,
        order: int,
        earlier: Sequence[str],
        completion: CompletionRule,
    ) -> Tier:
        """Build one tier."""
        table.check_keys(
            ("id", "title"),
            (
                "description",
                "prerequisites",
                "skills",
                "expiry_months",
                "move",
                "eligibility",
                "modules",
                "rotations",
                "requirements",
                "completion",
            ),
        )
        tier_id = table.ident("id")
        self.tier_ids.check(table, tier_id)
        override = table.table("completion")
        tier_completion = _completion(override, completion) if override else completion
        rule_ids = _Unique("rule id")
        requirement_ids = _Unique("requirement id")
        return Tier(
            id=tier_id,
            title=table.text("title", nonempty=True),
            description=table.text("description"),
            order=order,
            prerequisites=_prerequisites(table, tier_id, earlier),
            eligibility=tuple(
                _rule(rule, rule_ids) for rule in table.tables("eligibility")
            ),
            modules=tuple(
                self.module(module, tier_completion)
                for module in table.tables("modules")
            ),
            rotations=tuple(
                self.rotation(rotation) for rotation in table.tables("rotations")
            ),
            requirements=tuple(
                _requirement(requirement, requirement_ids)
                for requirement in table.tables("requirements")
            ),
            completion=tier_completion,
            skills=tuple(table.strings("skills", nonempty=True) or ()),
            expiry_months=table.integer("expiry_months", minimum=1),
            move=table.choice("move", MOVES) or "upward",
        )

    def module(self, table: Table, completion: CompletionRule) -> LearningModule:
        """Build one learning module with its pre- and post-test."""
        table.check_keys(
            ("id", "title", "hours", "pre_test", "post_test"),
            ("description", "content_url"),
        )
        module_id = table.ident("id")
        self.module_ids.check(table, module_id)
        return LearningModule(
            id=module_id,
            title=table.text("title", nonempty=True),
            description=table.text("description"),
            hours=table.number(
                "hours", 0.0, low=0, low_open=True, high=MAX_MODULE_HOURS
            ),
            content_url=_content_url(table),
            pre_test=self.assessment(table, module_id, AssessmentKind.PRE, 0.0),
            post_test=self.assessment(
                table, module_id, AssessmentKind.POST, completion.post_test_threshold
            ),
        )

    def assessment(
        self,
        module: Table,
        module_id: str,
        kind: AssessmentKind,
        default_threshold: float,
    ) -> Assessment:
        """Build a module's pre- or post-test; its id is "<module id>-pre" or "-post"."""
        key = f"{kind.value}_test"
        given = module.table(key)
        table = given or module.empty(key)
        if given is not None:
            table.check_keys(
                ("forms",),
                (
                    "pass_threshold",
                    "max_attempts",
                    "shuffle_items",
                    "shuffle_choices",
                    "time_limit_minutes",
                ),
            )
        form_ids = _Unique("form id")
        forms = tuple(
            self.form(form, form_ids)
            for form in table.tables("forms", at_least_one="form")
        )
        return Assessment(
            id=f"{module_id}-{kind.value}",
            kind=kind,
            forms=forms,
            pass_threshold=table.number(
                "pass_threshold", default_threshold, low=0, high=1
            ),
            max_attempts=table.integer("max_attempts", minimum=1),
            shuffle_items=table.flag("shuffle_items", True),
            shuffle_choices=table.flag("shuffle_choices", True),
            time_limit_minutes=table.integer("time_limit_minutes", minimum=1),
        )

    def form(self, table: Table, form_ids: _Unique) -> Form:
        """Build one form: at least one item, each in the bank, none twice."""
        table.check_keys(("id", "items"))
        form_id = table.ident("id", FORM_ID_PATTERN, FORM_ID_RULE)
        form_ids.check(table, form_id)
        item_ids = table.strings("items") or []
        if table.has("items") and isinstance(table.raw("items"), list) and not item_ids:
            table.report("items", "must list at least one item")
        seen: set[str] = set()
        for index, item_id in enumerate(item_ids):
            key = join("items", index)
            if item_id in seen:
                table.report(key, f'item "{item_id}" is listed twice in this form')
            elif self.check_items and item_id not in self.items:
                hint = suggestion(item_id, self.items, cutoff=0.85)
                table.report(key, f'unknown item "{item_id}"{hint}')
            seen.add(item_id)
        return Form(form_id, tuple(item_ids))

    def rotation(self, table: Table) -> Rotation:
        """Build one job rotation with its checklist, evidence types and rubric."""
        table.check_keys(
            ("id", "title", "checklist", "evidence", "rubric"), ("description",)
        )
        rotation_id = table.ident("id")
        self.rotation_ids.check(table, rotation_id)
        criterion_ids = _Unique("criterion id")
        return Rotation(
            id=rotation_id,
            title=table.text("title", nonempty=True),
            description=table.text("description"),
            checklist=tuple(table.strings("checklist", nonempty=True) or ()),
            rubric=tuple(
                _criterion(criterion, criterion_ids)
                for criterion in table.tables("rubric", at_least_one="criterion")
            ),
            evidence_types=_evidence(table),
        )


def _prerequisites(
    table: Table, tier_id: str, earlier: Sequence[str]
) -> tuple[str, ...]:
    """Check that each prerequisite names an earlier tier, once."""
    names = table.strings("prerequisites") or []
    seen: set[str] = set()
    for index, name in enumerate(names):
        key = join("prerequisites", index)
        if name in seen:
            table.report(key, f'prerequisite "{name}" is listed twice')
        elif name not in earlier:
            if name == tier_id:
                why = "a tier cannot require itself"
            else:
                why = f"no tier before this one has that id{suggestion(name, earlier)}"
            table.report(key, f'prerequisite "{name}" is not an earlier tier ({why})')
        seen.add(name)
    return tuple(names)


def _content_url(table: Table) -> str | None:
    """Return the module's content URL, which must be http(s) when given."""
    if not table.has("content_url"):
        return None
    url = table.text("content_url")
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return url
    if isinstance(table.raw("content_url"), str):
        table.report("content_url", f'must be an http(s) URL (got "{url}")')
    return None


def _rule(table: Table, rule_ids: _Unique) -> EligibilityRule:
    """Build one eligibility rule; only its kind's parameters are allowed."""
    kind_value = table.choice("rule", [kind.value for kind in RuleKind])
    common = ("id", "rule")
    own: tuple[str, ...] = ()
    if kind_value is None:
        table.check_keys(common, ("description", *_RULE_PARAM_KEYS))
        kind = RuleKind.HR_GOOD_STANDING
    else:
        kind = RuleKind(kind_value)
        required, optional = _RULE_PARAMS[kind]
        own = (*required, *optional)
        table.check_keys(
            (*common, *required),
            ("description", *optional),
            not_here={
                key: f'"{key}" does not apply to rule "{kind.value}"'
                for key in _RULE_PARAM_KEYS - {*required, *optional}
            },
        )
    rule_id = table.ident("id")
    rule_ids.check(table, rule_id)
    params = table.only(own)
    above = params.number("above", low=0)
    scale = params.number("scale", low=0, low_open=True)
    if above is not None and scale is not None and above >= scale:
        params.report(
            "above",
            f"must be less than scale ({number_text(scale)}) (got {number_text(above)})",
        )
    return EligibilityRule(
        id=rule_id,
        kind=kind,
        description=table.text("description"),
        months=params.integer("months", minimum=0),
        above=above,
        scale=scale,
        kpi=params.choice("kpi", KPIS),
        allowed_quartiles=_quartiles(params),
        group_by=_group_by(params, _DEFAULT_GROUP_BY.get(kind, ())),
        minimum=params.number("minimum", low=0, high=100),
        fallback_average=params.number("fallback_average", low=0, high=100),
        min_group_size=params.integer("min_group_size", 4, minimum=1),
    )


def _quartiles(table: Table) -> tuple[int, ...]:
    """Return allowed_quartiles: a non-empty list of distinct quartiles 1 to 4."""
    if not table.has("allowed_quartiles"):
        return ()
    value = table.raw("allowed_quartiles")
    rule = "must be a non-empty list of quartiles 1 to 4 (1 = top)"
    if not isinstance(value, list) or not value:
        table.report("allowed_quartiles", rule)
        return ()
    quartiles: list[int] = []
    for index, element in enumerate(value):
        key = join("allowed_quartiles", index)
        if (
            isinstance(element, bool)
            or element not in (1, 2, 3, 4)
            or not isinstance(element, int)
        ):
            table.report(
                key, f"must be a quartile 1, 2, 3 or 4 (got {describe(element)})"
            )
        elif element in quartiles:
            table.report(key, f"quartile {element} is listed twice")
        else:
            quartiles.append(element)
    return tuple(quartiles)


def _group_by(table: Table, default: tuple[str, ...]) -> tuple[str, ...]:
    """Return group_by: distinct names among "site" and "line_of_business"."""
    names = table.strings("group_by")
    if names is None:
        return default
    seen: list[str] = []
    for index, name in enumerate(names):
        key = join("group_by", index)
        if name not in GROUP_BY:
            table.report(
                key,
                f'must be one of {quoted(GROUP_BY)} (got "{name}"){suggestion(name, GROUP_BY)}',
            )
        elif name in seen:
            table.report(key, f'"{name}" is listed twice')
        else:
            seen.append(name)
    return tuple(seen)


def _evidence(table: Table) -> tuple[EvidenceType, ...]:
    """Return a rotation's evidence types: non-empty, known, distinct."""
    names = table.strings("evidence", nonempty=True) or []
    allowed = [evidence.value for evidence in EvidenceType]
    types: list[EvidenceType] = []
    for index, name in enumerate(names):
        key = join("evidence", index)
        if name not in allowed:
            table.report(
                key,
                f'must be one of {quoted(allowed)} (got "{name}"){suggestion(name, allowed)}',
            )
        elif EvidenceType(name) in types:
            table.report(key, f'"{name}" is listed twice')
        else:
            types.append(EvidenceType(name))
    return tuple(types)


def _criterion(table: Table, criterion_ids: _Unique) -> RubricCriterion:
    """Build one rubric criterion: two or more levels, points strictly increasing."""
    table.check_keys(("id", "title", "levels"))
    criterion_id = table.ident("id")
    criterion_ids.check(table, criterion_id)
    level_tables = table.tables("levels")
    if isinstance(table.raw("levels"), list) and len(level_tables) < 2:
        table.report(
            "levels", f"must have at least two levels (got {len(level_tables)})"
        )
    levels: list[RubricLevel] = []
    previous: float | None = None
    for level_table in level_tables:
        level_table.check_keys(("label", "points", "descriptor"))
        points = level_table.number("points", low=0)
        if points is not None and previous is not None and points <= previous:
            level_table.report(
                "points",
                f"must be greater than the previous level's points ({number_text(previous)}) "
                f"(got {number_text(points)})",
            )
        previous = points if points is not None else previous
        levels.append(
            RubricLevel(
                label=level_table.text("label", nonempty=True),
                points=points if points is not None else 0.0,
                descriptor=level_table.text("descriptor", nonempty=True),
            )
        )
    return RubricCriterion(
        criterion_id, table.text("title", nonempty=True), tuple(levels)
    )


def _requirement(table: Table, requirement_ids: _Unique) -> Requirement:
    """Build one instructor-signed requirement."""
    table.check_keys(("id", "title"), ("description", "weeks"))
    requirement_id = table.ident("id")
    requirement_ids.check(table, requirement_id)
    return Requirement(
        id=requirement_id,
        title=table.text("title", nonempty=True),
        description=table.text("description"),
        weeks=table.integer("weeks", minimum=1),
    )
