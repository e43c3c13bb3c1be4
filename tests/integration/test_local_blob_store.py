"""Evidence blobs on disk: content-addressed, atomic, deduplicated, confined to the root."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lti_tool.services.ports import BlobNotFoundError, BlobStore, StoredBlob
from lti_tool.storage.local_blobs import LocalBlobStore

DATA = b"%PDF-1.4\nevidence of a job rotation\n%%EOF\n"
SHA = hashlib.sha256(DATA).hexdigest()
MISSING = "0" * 64


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "instance" / "evidence"


@pytest.fixture
def store(root: Path) -> LocalBlobStore:
    return LocalBlobStore(root)


def files_under(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


@pytest.fixture
def umask() -> Iterator[None]:
    """Run with a permissive umask, to show the modes do not depend on it."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def test_a_stored_blob_reads_back_byte_for_byte(store: LocalBlobStore) -> None:
    blob = store.put(DATA)
    assert blob == StoredBlob(sha256=SHA, size=len(DATA))
    with store.open(blob.sha256) as stored:
        assert stored.read() == DATA
    assert store.exists(SHA)
    assert store.size(SHA) == len(DATA)


def test_blobs_live_at_root_aa_bb_sha256(store: LocalBlobStore, root: Path) -> None:
    store.put(DATA)
    assert files_under(root) == [root / SHA[:2] / SHA[2:4] / SHA]


def test_the_store_satisfies_the_blob_store_port(root: Path) -> None:
    port: BlobStore = LocalBlobStore(root)
    assert port.put(b"") == StoredBlob(hashlib.sha256(b"").hexdigest(), 0)


def test_storing_the_same_bytes_twice_is_a_no_op(
    store: LocalBlobStore, root: Path
) -> None:
    first = store.put(DATA)
    path = root / SHA[:2] / SHA[2:4] / SHA
    written = path.stat().st_mtime_ns
    assert store.put(bytes(DATA)) == first
    assert files_under(root) == [path]
    assert path.stat().st_mtime_ns == written


def test_different_bytes_are_different_blobs(store: LocalBlobStore, root: Path) -> None:
    one, two = store.put(b"one"), store.put(b"two")
    assert one.sha256 != two.sha256
    assert len(files_under(root)) == 2
    with store.open(two.sha256) as stored:
        assert stored.read() == b"two"


def test_no_temporary_file_is_left_after_a_put(
    store: LocalBlobStore, root: Path
) -> None:
    for n in range(5):
        store.put(b"blob %d" % n)
    assert not [p for p in files_under(root) if p.name.startswith(".tmp-")]


def test_a_failed_write_leaves_neither_blob_nor_temporary_file(
    store: LocalBlobStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(descriptor: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        store.put(DATA)
    monkeypatch.undo()
    assert files_under(root) == []
    assert not store.exists(SHA)
    assert store.put(DATA).sha256 == SHA


def test_a_failed_rename_leaves_no_temporary_file(
    store: LocalBlobStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(source: str, target: Path) -> None:
        raise OSError("rename failed")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="rename failed"):
        store.put(DATA)
    assert files_under(root) == []


def test_a_blob_is_only_ever_visible_complete(
    store: LocalBlobStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bytes] = []
    replace = os.replace

    def observe(source: str, target: Path) -> None:
        # Just before the rename: the final name does not exist yet and the
        # temporary file already holds every byte.
        assert not Path(target).exists()
        seen.append(Path(source).read_bytes())
        replace(source, target)

    monkeypatch.setattr(os, "replace", observe)
    store.put(DATA)
    assert seen == [DATA]


def test_files_are_0640_and_directories_0750(
    store: LocalBlobStore, root: Path, umask: None
) -> None:
    store.put(DATA)
    assert stat.S_IMODE((root / SHA[:2] / SHA[2:4] / SHA).stat().st_mode) == 0o640
    for directory in (root, root / SHA[:2], root / SHA[:2] / SHA[2:4]):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o750


def test_an_existing_root_keeps_its_permissions(tmp_path: Path) -> None:
    tmp_path.chmod(0o700)
    LocalBlobStore(tmp_path).put(DATA)
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o700


def test_a_missing_blob_raises_blob_not_found(store: LocalBlobStore) -> None:
    assert not store.exists(MISSING)
    with pytest.raises(BlobNotFoundError):
        store.open(MISSING)
    with pytest.raises(BlobNotFoundError):
        store.size(MISSING)
    assert issubclass(BlobNotFoundError, LookupError)


@pytest.mark.parametrize(
    "blob_id",
    [
        pytest.param("../../etc/passwd", id="parent-dirs"),
        pytest.param("/etc/passwd", id="absolute"),
        pytest.param(SHA.upper(), id="upper-case"),
        pytest.param(SHA[:63], id="too-short"),
        pytest.param(SHA + "0", id="too-long"),
        pytest.param(SHA + "\n", id="trailing-newline"),
        pytest.param(SHA[:62] + "/x", id="slash"),
        pytest.param(SHA[:63] + "g", id="not-hex"),
        pytest.param("", id="empty"),
        pytest.param("../" * 20 + "x" * 4, id="traversal-of-length-64"),
    ],
)
def test_invalid_ids_are_refused_by_every_method(
    store: LocalBlobStore, blob_id: str
) -> None:
    store.put(DATA)
    with pytest.raises(ValueError, match="not a blob id"):
        store.open(blob_id)
    with pytest.raises(ValueError, match="not a blob id"):
        store.exists(blob_id)
    with pytest.raises(ValueError, match="not a blob id"):
        store.size(blob_id)


def test_a_blob_symlinked_outside_the_root_is_not_served(
    store: LocalBlobStore, root: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not evidence")
    planted = root / MISSING[:2] / MISSING[2:4] / MISSING
    planted.parent.mkdir(parents=True)
    planted.symlink_to(secret)
    assert not store.exists(MISSING)
    with pytest.raises(BlobNotFoundError):
        store.open(MISSING)


def test_a_root_reached_through_a_symlink_works(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    store = LocalBlobStore(tmp_path / "link")
    store.put(DATA)
    with store.open(SHA) as stored:
        assert stored.read() == DATA


def test_concurrent_puts_of_the_same_bytes_store_one_complete_blob(
    store: LocalBlobStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(256 * 1024)
    threads_count = 8
    start = threading.Barrier(threads_count)
    # Hold every rename until all threads have written their temporary copy, so
    # each one renames over the others rather than finding the blob stored.
    rename = threading.Barrier(threads_count, timeout=10)
    replace = os.replace

    def replace_together(source: str, target: Path) -> None:
        rename.wait()
        replace(source, target)

    monkeypatch.setattr(os, "replace", replace_together)
    results: list[StoredBlob] = []
    errors: list[BaseException] = []

    def put() -> None:
        start.wait()
        try:
            results.append(store.put(data))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=put) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    sha = hashlib.sha256(data).hexdigest()
    assert results == [StoredBlob(sha, len(data))] * threads_count
    assert files_under(root) == [root / sha[:2] / sha[2:4] / sha]
    with store.open(sha) as stored:
        assert stored.read() == data


def test_concurrent_puts_of_different_bytes_all_land(
    store: LocalBlobStore, root: Path
) -> None:
    payloads = [b"%d" % n * 1000 for n in range(16)]
    barrier = threading.Barrier(len(payloads))
    errors: list[BaseException] = []

    def put(data: bytes) -> None:
        barrier.wait()
        try:
            store.put(data)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=put, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(files_under(root)) == len(payloads)
    for data in payloads:
        assert store.size(hashlib.sha256(data).hexdigest()) == len(data)
