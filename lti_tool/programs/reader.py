"""Read parsed TOML tables field by field, reporting every problem at its path.

A getter never raises: a missing or wrong value is reported once and the getter
returns a fallback, so the loader can keep going and report all problems of a
file in one pass. Missing required keys are reported by `Table.check_keys`, so
getters stay silent about absent keys.
"""

from __future__ import annotations

import codecs
import difflib
import json
import math
import re
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import overload

from lti_tool.programs.issues import ProgramIssue

MAX_FILE_BYTES = 2 * 1024 * 1024

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]*")
ID_RULE = (
    "an id of lowercase letters, digits and hyphens, starting with a letter or digit"
)
FORM_ID_PATTERN = re.compile(r"[A-Za-z0-9-]+")
FORM_ID_RULE = "an id of letters, digits and hyphens"

_TOML_LOCATION = re.compile(r"\s*\(at (line \d+, column \d+|end of document)\)$")


@dataclass
class Reporter:
    """Collects the problems found while reading one program and its banks."""

    issues: list[ProgramIssue] = field(default_factory=list)

    def add(self, file: str, path: str, problem: str) -> None:
        """Record one problem."""
        self.issues.append(ProgramIssue(file, path, problem))


def join(path: str, key: str | int) -> str:
    """Return the document path of `key` (a table key or a list index) under `path`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def number_text(value: float) -> str:
    """Return a number as a person would write it: 1 rather than 1.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def describe(value: object) -> str:
    """Return a short, TOML-flavoured description of a value for a problem message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return json.dumps(shown, ensure_ascii=False)
    if isinstance(value, int | float):
        return number_text(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, datetime | date | time):
        return f"a date/time {value.isoformat()}"
    return type(value).__name__


def suggestion(word: str, options: Collection[str], cutoff: float = 0.6) -> str:
    """Return ' (did you mean "x"?)' for the closest option, or an empty string."""
    close = difflib.get_close_matches(word, sorted(options), n=1, cutoff=cutoff)
    return f' (did you mean "{close[0]}"?)' if close else ""


def quoted(options: Sequence[str]) -> str:
    """Return options as '"a", "b", "c"'."""
    return ", ".join(f'"{option}"' for option in options)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_toml(reporter: Reporter, data: bytes, file: str) -> dict[str, object] | None:
    """Decode and parse one file's bytes, or report why it cannot be read and return None."""
    if len(data) > MAX_FILE_BYTES:
        reporter.add(
            file,
            "",
            f"file is larger than the limit of {MAX_FILE_BYTES} bytes (2 MiB)",
        )
        return None
    body = data.removeprefix(codecs.BOM_UTF8)
    skipped = len(data) - len(body)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        at = exc.start + skipped
        line = data.count(b"\n", 0, at) + 1
        reporter.add(
            file,
            f"byte {at}",
            f"not valid UTF-8 (byte 0x{data[at]:02x} on line {line}); save the file as UTF-8",
        )
        return None
    if not text.strip():
        reporter.add(file, "", "file is empty")
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_LOCATION.search(message)
        location = match.group(1) if match else ""
        problem = _TOML_LOCATION.sub("", message)
        reporter.add(file, location, f"TOML syntax error: {problem}")
        return None


class Table:
    """One TOML table of a file, at a path, read with problems reported."""

    def __init__(
        self, reporter: Reporter, file: str, path: str, data: Mapping[str, object]
    ) -> None:
        self.reporter = reporter
        self.file = file
        self.path = path
        self.data = data

    def empty(self, key: str) -> Table:
        """Return an empty table at `key`, to read defaults from when one is missing."""
        return Table(self.reporter, self.file, join(self.path, key), {})

    def only(self, keys: Collection[str]) -> Table:
        """Return a view of this table holding only `keys` (the ones that apply)."""
        data = {key: value for key, value in self.data.items() if key in keys}
        return Table(self.reporter, self.file, self.path, data)

    def report(self, key: str | int | None, problem: str) -> None:
        """Record a problem with this table (key None) or one of its keys."""
        path = self.path if key is None else join(self.path, key)
        self.reporter.add(self.file, path, problem)

    def has(self, key: str) -> bool:
        """Return whether the table sets `key`."""
        return key in self.data

    def raw(self, key: str) -> object:
        """Return the value of `key` as parsed, None when absent."""
        return self.data.get(key)

    def check_keys(
        self,
        required: Sequence[str],
        optional: Collection[str] = (),
        *,
        not_here: Mapping[str, str] | None = None,
    ) -> None:
        """Report missing required keys, and keys that are unknown or do not belong here.

        `not_here` maps keys that exist elsewhere in the format (e.g. a parameter of
        another rule kind) to the problem to report when they appear here.
        """
        not_here = not_here or {}
        allowed = {*required, *optional}
        for key in self.data:
            if key in allowed:
                continue
            if key in not_here:
                self.report(key, not_here[key])
            else:
                self.report(key, f'unknown key "{key}"{suggestion(key, allowed)}')
        for key in required:
            if key not in self.data:
                self.report(None, f'missing required key "{key}"')

    def text(self, key: str, default: str = "", *, nonempty: bool = False) -> str:
        """Return a string value; report a non-string (or an empty one if `nonempty`)."""
        if key not in self.data:
            return default
        value = self.data[key]
        if not isinstance(value, str):
            hint = "; put it in quotes" if _is_number(value) else ""
            self.report(key, f"must be a string (got {describe(value)}{hint})")
            return default
        if nonempty and not value.strip():
            self.report(key, "must not be empty")
            return default
        return value

    def ident(
        self, key: str, pattern: re.Pattern[str] = ID_PATTERN, rule: str = ID_RULE
    ) -> str:
        """Return an id matching `pattern`, or "" after reporting why it is not one."""
        if key not in self.data:
            return ""
        value = self.data[key]
        if not isinstance(value, str) or not pattern.fullmatch(value):
            self.report(key, f"must be {rule} (got {describe(value)})")
            return ""
        return value

    def choice(self, key: str, options: Sequence[str]) -> str | None:
        """Return one of `options`, or None after reporting the value (None when absent)."""
        if key not in self.data:
            return None
        value = self.data[key]
        if isinstance(value, str) and value in options:
            return value
        hint = suggestion(value, options) if isinstance(value, str) else ""
        self.report(
            key, f"must be one of {quoted(options)} (got {describe(value)}){hint}"
        )
        return None

    @overload
    def number(
        self,
        key: str,
        default: float,
        *,
        low: float | None = ...,
        high: float | None = ...,
        low_open: bool = ...,
    ) -> float: ...

    @overload
    def number(
        self,
        key: str,
        default: None = ...,
        *,
        low: float | None = ...,
        high: float | None = ...,
        low_open: bool = ...,
    ) -> float | None: ...

    def number(
        self,
        key: str,
        default: float | None = None,
        *,
        low: float | None = None,
        high: float | None = None,
        low_open: bool = False,
    ) -> float | None:
        """Return a finite number within the bounds; integers are fine, booleans are not."""
        if key not in self.data:
            return default
        value = self.data[key]
        if _is_number(value):
            assert isinstance(value, int | float)
            number = float(value)
            below = low is not None and (number <= low if low_open else number < low)
            above = high is not None and number > high
            if math.isfinite(number) and not below and not above:
                return number
        self.report(
            key, f"must be {_number_rule(low, high, low_open)} (got {describe(value)})"
        )
        return default

    @overload
    def integer(self, key: str, default: int, *, minimum: int) -> int: ...

    @overload
    def integer(self, key: str, default: None = ..., *, minimum: int) -> int | None: ...

    def integer(
        self, key: str, default: int | None = None, *, minimum: int
    ) -> int | None:
        """Return a whole number of at least `minimum`."""
        if key not in self.data:
            return default
        value = self.data[key]
        if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
            return value
        self.report(
            key, f"must be a whole number of at least {minimum} (got {describe(value)})"
        )
        return default

    def flag(self, key: str, default: bool) -> bool:
        """Return a boolean."""
        if key not in self.data:
            return default
        value = self.data[key]
        if isinstance(value, bool):
            return value
        self.report(key, f"must be true or false (got {describe(value)})")
        return default

    def strings(self, key: str, *, nonempty: bool = False) -> list[str] | None:
        """Return a list of strings, or None when absent or when any element is wrong.

        With `nonempty`, the list and each string in it must not be empty.
        """
        if key not in self.data:
            return None
        value = self.data[key]
        if not isinstance(value, list):
            self.report(key, f"must be a list of strings (got {describe(value)})")
            return None
        if nonempty and not value:
            self.report(key, "must not be empty")
            return None
        good = True
        for index, element in enumerate(value):
            if not isinstance(element, str):
                self.report(
                    join(key, index), f"must be a string (got {describe(element)})"
                )
                good = False
            elif nonempty and not element.strip():
                self.report(join(key, index), "must not be empty")
                good = False
        return [str(element) for element in value] if good else None

    def table(self, key: str) -> Table | None:
        """Return the sub-table at `key`, or None when absent or not a table."""
        if key not in self.data:
            return None
        value = self.data[key]
        if not isinstance(value, dict):
            self.report(key, f"must be a table (got {describe(value)})")
            return None
        return Table(self.reporter, self.file, join(self.path, key), value)

    def tables(self, key: str, *, at_least_one: str | None = None) -> list[Table]:
        """Return the tables of an array of tables; `at_least_one` names what may not be missing."""
        if key not in self.data:
            return []
        value = self.data[key]
        if not isinstance(value, list):
            self.report(
                key, f"must be an array of tables [[{key}]] (got {describe(value)})"
            )
            return []
        if at_least_one and not value:
            self.report(key, f"must have at least one {at_least_one}")
        tables: list[Table] = []
        for index, element in enumerate(value):
            path = join(join(self.path, key), index)
            if isinstance(element, dict):
                tables.append(Table(self.reporter, self.file, path, element))
            else:
                self.reporter.add(
                    self.file, path, f"must be a table (got {describe(element)})"
                )
        return tables


def _number_rule(low: float | None, high: float | None, low_open: bool) -> str:
    if low is not None and high is not None:
        if low_open:
            return f"a number greater than {number_text(low)} and at most {number_text(high)}"
        return f"a number between {number_text(low)} and {number_text(high)}"
    if low is not None:
        if low_open:
            return f"a number greater than {number_text(low)}"
        return f"a number of at least {number_text(low)}"
    if high is not None:
        return f"a number of at most {number_text(high)}"
    return "a number"
