"""Program files: load, validate and fingerprint them (docs/program-format.md)."""

from lti_tool.programs.issues import ProgramFileError, ProgramIssue
from lti_tool.programs.loader import (
    MAX_FILE_BYTES,
    LoadedProgram,
    load_program_file,
    parse_program,
)

__all__ = [
    "MAX_FILE_BYTES",
    "LoadedProgram",
    "ProgramFileError",
    "ProgramIssue",
    "load_program_file",
    "parse_program",
]
