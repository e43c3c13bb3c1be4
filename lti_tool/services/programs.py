"""Use cases for program versions: load a file, list, and get the parsed program."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import orm

from lti_tool.db.models import ContextProgram, ProgramVersion
from lti_tool.domain.programs import Program
from lti_tool.programs.loader import LoadedProgram, load_program_file, parse_program


class ProgramVersionError(ValueError):
    """Raised when a program file cannot be stored as a new version."""


@dataclass(frozen=True)
class LoadResult:
    """What loading a file did."""

    version: ProgramVersion
    created: bool


def _source(loaded: LoadedProgram) -> dict[str, object]:
    main = Path(loaded.files[0])
    files: dict[str, str] = {}
    for name in loaded.files:
        path = Path(name)
        relative = path.name if path == main else str(path.relative_to(main.parent))
        files[relative] = path.read_text(encoding="utf-8-sig")
    return {"main": main.name, "files": files}


def load_program(session: orm.Session, path: str | Path, now: datetime) -> LoadResult:
    """Validate a program file and store it as a new version if its content is new.

    Loading the same content again changes nothing. Changed content under an
    existing version string is refused: enrolments pin versions, so a version
    must never change under them.
    """
    loaded = load_program_file(path)
    program = loaded.program
    existing = session.scalar(
        sa.select(ProgramVersion).where(
            ProgramVersion.content_hash == loaded.content_hash
        )
    )
    if existing is not None:
        return LoadResult(existing, created=False)
    clash = session.scalar(
        sa.select(ProgramVersion).where(
            ProgramVersion.program_id == program.id,
            ProgramVersion.version == program.version,
        )
    )
    if clash is not None:
        raise ProgramVersionError(
            f"{path}: program {program.id!r} version {program.version!r} is already"
            " loaded with different content; give the changed file a new version"
        )
    session.execute(
        sa.update(ProgramVersion)
        .where(ProgramVersion.program_id == program.id)
        .values(is_current=False)
    )
    version = ProgramVersion(
        program_id=program.id,
        version=program.version,
        title=program.title,
        content_hash=loaded.content_hash,
        source=_source(loaded),
        is_current=True,
        loaded_at=now,
    )
    session.add(version)
    session.flush()
    return LoadResult(version, created=True)


_CACHE: dict[str, Program] = {}
_CACHE_LOCK = threading.Lock()


def program_of(version: ProgramVersion) -> Program:
    """Return the parsed program of a stored version (cached: versions are immutable)."""
    with _CACHE_LOCK:
        cached = _CACHE.get(version.content_hash)
    if cached is not None:
        return cached
    files: dict[str, str] = version.source["files"]
    main: str = version.source["main"]

    def bank(name: str) -> bytes:
        return files[name].encode()

    program = parse_program(files[main].encode(), main, bank_loader=bank).program
    with _CACHE_LOCK:
        _CACHE[version.content_hash] = program
    return program


def program_for(session: orm.Session, version_id: int, content_hash: str) -> Program:
    """The parsed program of a version, reading its files only on a cache miss."""
    with _CACHE_LOCK:
        cached = _CACHE.get(content_hash)
    if cached is not None:
        return cached
    version = session.get(ProgramVersion, version_id)
    if version is None:
        raise LookupError(f"program version {version_id} does not exist")
    return program_of(version)


def current_versions(session: orm.Session) -> list[ProgramVersion]:
    """Return the current version of every program, by title."""
    return list(
        session.scalars(
            sa.select(ProgramVersion)
            .where(ProgramVersion.is_current.is_(True))
            .order_by(ProgramVersion.title)
        )
    )


def all_versions(session: orm.Session) -> list[ProgramVersion]:
    """Return every stored version, newest first within each program."""
    return list(
        session.scalars(
            sa.select(ProgramVersion).order_by(
                ProgramVersion.program_id, ProgramVersion.loaded_at.desc()
            )
        )
    )


def offered_versions(
    session: orm.Session, context_id: int | None
) -> list[ProgramVersion]:
    """Return the current versions offered in a course (all of them if none chosen)."""
    current = current_versions(session)
    if context_id is None:
        return current
    chosen = set(
        session.scalars(
            sa.select(ContextProgram.program_id).where(
                ContextProgram.context_id == context_id
            )
        )
    )
    return [v for v in current if v.program_id in chosen] if chosen else current
