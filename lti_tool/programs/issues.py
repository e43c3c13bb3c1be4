"""Problems found in a program file, and the error that carries all of them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ProgramIssue:
    """One problem: which file, where in the document, and what is wrong.

    `path` is empty for problems with the file as a whole (too large, empty,
    unreadable); it names a line and column for TOML syntax errors and a byte
    offset for text that is not UTF-8.
    """

    file: str
    path: str
    problem: str

    def __str__(self) -> str:
        if not self.path:
            return f"{self.file}: {self.problem}"
        return f"{self.file}: {self.path}: {self.problem}"


class ProgramFileError(Exception):
    """Raised when a program file (or one of its item banks) has problems."""

    def __init__(self, issues: Iterable[ProgramIssue]) -> None:
        self.issues: tuple[ProgramIssue, ...] = tuple(issues)
        count = len(self.issues)
        heading = "1 problem" if count == 1 else f"{count} problems"
        lines = "\n".join(f"  {issue}" for issue in self.issues)
        super().__init__(f"{heading} in program file:\n{lines}")
