"""Evidence blobs on the local disk: content-addressed, written atomically.

Each blob lives at ``root/<aa>/<bb>/<sha256>`` (the first two pairs of hex
digits fan the files out over directories). Keep ``root`` outside anything the
web server serves, e.g. ``instance/evidence``; files are only ever read back
through `LocalBlobStore.open`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO

from lti_tool.services.ports import BlobNotFoundError, StoredBlob

FILE_MODE = 0o640
DIR_MODE = 0o750
TEMP_PREFIX = ".tmp-"
"""Temporary files being written start with this; no blob name does."""

_SHA256 = re.compile(r"[0-9a-f]{64}")


class LocalBlobStore:
    """A `BlobStore` in a directory tree; safe for concurrent threads and processes.

    A blob is written to a temporary file in its final directory, flushed and
    fsynced, then renamed into place with `os.replace`, so a reader or a crash
    never sees a half-written blob under its final name; concurrent puts of the
    same bytes each rename a complete copy. A crash mid-write can leave a
    ``.tmp-*`` file behind, never a blob. Files are created 0o640 and the
    directories the store creates 0o750, whatever the umask.
    """

    def __init__(self, root: Path) -> None:
        self._root = Path(root).resolve()

    @property
    def root(self) -> Path:
        """The resolved directory blobs are stored under."""
        return self._root

    def put(self, data: bytes) -> StoredBlob:
        """Store the bytes (a no-op if already stored) and return their reference."""
        blob = StoredBlob(hashlib.sha256(data).hexdigest(), len(data))
        path = self._path(blob.sha256)
        if path.is_file():
            return blob
        self._root.parent.mkdir(parents=True, exist_ok=True)
        for directory in (self._root, path.parent.parent, path.parent):
            _make_dir(directory)
        descriptor, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
        try:
            with os.fdopen(descriptor, "wb") as temp:
                temp.write(data)
                temp.flush()
                os.fsync(temp.fileno())
                os.fchmod(temp.fileno(), FILE_MODE)
            os.replace(temp_name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise
        _sync_dir(path.parent)
        return blob

    def open(self, sha256: str) -> BinaryIO:
        """Return the blob for reading; raises `BlobNotFoundError` if missing."""
        path = self._located(sha256)
        try:
            return path.open("rb")
        except FileNotFoundError:
            raise BlobNotFoundError(sha256) from None

    def exists(self, sha256: str) -> bool:
        """Whether a blob is stored under the id."""
        try:
            self._located(sha256)
        except BlobNotFoundError:
            return False
        return True

    def size(self, sha256: str) -> int:
        """The blob's size in bytes; raises `BlobNotFoundError` if missing."""
        path = self._located(sha256)
        try:
            return path.stat().st_size
        except FileNotFoundError:
            raise BlobNotFoundError(sha256) from None

    def _path(self, sha256: str) -> Path:
        """Return where the blob belongs; ValueError unless `sha256` is a blob id."""
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise ValueError(
                f"not a blob id (64 lowercase hex digits): {str(sha256)[:80]!r}"
            )
        return self._root / sha256[:2] / sha256[2:4] / sha256

    def _located(self, sha256: str) -> Path:
        """Return the blob's file, resolved; `BlobNotFoundError` if missing.

        A blob whose resolved path leaves the root (a planted symlink) counts as
        missing.
        """
        path = self._path(sha256).resolve()
        if not path.is_relative_to(self._root) or not path.is_file():
            raise BlobNotFoundError(sha256)
        return path


def _make_dir(path: Path) -> None:
    """Create one directory with `DIR_MODE`, unless it exists."""
    try:
        path.mkdir(mode=DIR_MODE)
    except FileExistsError:
        return
    os.chmod(path, DIR_MODE)


def _sync_dir(path: Path) -> None:
    """Make a rename in the directory durable."""
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
