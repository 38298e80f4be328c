"""A hostile client naming server files: only its own folder under the files
root is ever read or written, and the answer never tells what lies outside.

The files root is the test's folder, which also holds the SQLite database, an
admin-key file and a canary folder: every case asserts its status, that the
job gained no items (nothing outside was read), and that nothing outside the
client folder was created or changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from labelwire.server.domain.errors import InvalidArgument
from labelwire.server.files import exports
from labelwire.server.files import storage as files
from labelwire.server.files.policy import FilesSettings, resolve
from labelwire.v1 import job_pb2
from tests.conftest import Clock, Harness, client_folder, serving
from tests.helpers import CLASSES, running_job, work

MANIFEST = '{"source": "planted", "id": "p1"}\n'
Snapshot = dict[str, tuple[int, str]]


@pytest.fixture
def outside(files_root: Path) -> Path:
    """A folder beside the client folders, holding a readable manifest (the
    canary) and the files an attacker wants: a key file beside the database."""
    folder = files_root / "outside"
    folder.mkdir()
    (folder / "secret.manifest").write_text(MANIFEST)
    (folder / "secret.csv").write_text("source,id\nplanted,p1\n")
    (files_root / "labelwire.db.admin-key").write_text("the operator's admin key\n")
    return folder


@pytest.fixture
def beyond(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside the files root altogether, with its own canary."""
    folder = tmp_path_factory.mktemp("beyond")
    (folder / "secret.manifest").write_text(MANIFEST)
    return folder


def _files(root: Path, skip: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d != skip]
        for name in [*filenames, *dirnames]:
            yield here / name


def snapshot(skip: Path, *roots: Path) -> Snapshot:
    """Every path under `roots` outside the client folder `skip`, with its mtime
    and contents; the database's own files change with every call and are left out."""
    out: Snapshot = {}
    for path in (p for root in roots for p in _files(root, skip)):
        if path.name.startswith("labelwire.db") and not path.name.endswith("admin-key"):
            continue
        info = path.lstat()
        digest = (
            hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() and not path.is_symlink() else ""
        )
        out[str(path)] = (info.st_mtime_ns, digest)
    return out


async def refused(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call  # type: ignore[misc]
    return err.value.code(), err.value.details() or ""


HOSTILE_READS = {
    "traversal": "../outside/secret.manifest",
    "deep traversal": "in/../../outside/secret.manifest",
    "absolute": "{outside}/secret.manifest",
    "absolute beyond the root": "{beyond}/secret.manifest",
    "file uri": "file://{outside}/secret.manifest",
    "symlink out": "link.manifest",
    "symlink beyond the root": "far.manifest",
    "symlinked folder out": "linked/secret.manifest",
    "the database": "../labelwire.db",
    "the key file": "../labelwire.db.admin-key",
    "a directory": "sub",
    "nul byte": "in.manifest\x00.csv",
    "4,096 characters": "a" * 4096,
    "4,099 characters": "b/" * 2049 + "c",
    "missing": "nothing-here.manifest",
    "s3 without a bucket": "s3:///key.manifest",
    "http uri": "http://169.254.169.254/latest/meta-data",
}


def _plant(folder: Path, outside: Path, beyond: Path) -> None:
    """What an operator (or a careless script) left in the client's folder."""
    (folder / "far.manifest").symlink_to(beyond / "secret.manifest")
    (folder / "sub").mkdir(exist_ok=True)
    (folder / "link.manifest").symlink_to(outside / "secret.manifest")
    (folder / "linked").symlink_to(outside)


@pytest.mark.parametrize("case", HOSTILE_READS)
async def test_import_of_a_path_outside_the_client_folder_reads_nothing(
    files_server: Harness, files_root: Path, outside: Path, beyond: Path, case: str
) -> None:
    lw = await files_server.client()
    folder = client_folder(files_root, lw)
    _plant(folder, outside, beyond)
    job = await lw.create_job("J", classes=CLASSES)
    before = snapshot(folder, files_root, beyond)
    code, message = await refused(
        lw.import_manifest(job.name, HOSTILE_READS[case].format(outside=outside, beyond=beyond))
    )
    assert code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.PERMISSION_DENIED)
    assert message.startswith("uri") and "planted" not in message
    assert str(files_root) not in message and str(beyond) not in message
    assert (await lw.get_job(job.name)).counters.total_items == 0
    assert snapshot(folder, files_root, beyond) == before
    await lw.close()


async def test_missing_and_outside_files_get_the_same_answer(
    files_server: Harness, files_root: Path, outside: Path, beyond: Path
) -> None:
    lw = await files_server.client()
    folder = client_folder(files_root, lw)
    _plant(folder, outside, beyond)
    job = await lw.create_job("J", classes=CLASSES)
    answers = set()
    for name in ("link.manifest", "gone.manifest", "sub"):
        code, message = await refused(lw.import_manifest(job.name, name))
        answers.add((code, message.replace(repr(name), "<uri>")))
    assert answers == {
        (grpc.StatusCode.INVALID_ARGUMENT, "uri <uri> is not a readable file in your files folder")
    }
    await lw.close()


HOSTILE_WRITES = {
    "traversal": "../outside/planted.sh",
    "the database": "../labelwire.db",
    "the key file": "../labelwire.db.admin-key",
    "absolute": "{outside}/planted.manifest",
    "absolute beyond the root": "{beyond}/planted.manifest",
    "file uri": "file://{outside}/planted.manifest",
    "symlink out": "link.manifest",
    "symlink beyond the root": "far.manifest",
    "symlinked folder out": "linked/planted.manifest",
    "a directory": "sub",
    "nul byte": "out.manifest\x00",
    "4,096 characters": "a" * 4096,
    "trailing slash": "out/",
}


@pytest.mark.parametrize("case", HOSTILE_WRITES)
async def test_export_outside_the_client_folder_writes_nothing(
    files_server: Harness, files_root: Path, outside: Path, beyond: Path, case: str
) -> None:
    lw = await files_server.client()
    folder = client_folder(files_root, lw)
    _plant(folder, outside, beyond)
    job = await running_job(lw, items=2)
    before = snapshot(folder, files_root, beyond)
    inside = sorted(p.name for p in folder.iterdir())
    code, message = await refused(
        lw.export_labels(job.name, HOSTILE_WRITES[case].format(outside=outside, beyond=beyond))
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message.startswith("uri") and str(files_root) not in message and str(beyond) not in message
    assert snapshot(folder, files_root, beyond) == before
    assert sorted(p.name for p in folder.iterdir()) == inside
    assert (outside / "secret.manifest").read_text() == MANIFEST
    assert (await lw.get_job(job.name)).state == job_pb2.JOB_STATE_RUNNING  # the database still works
    await lw.close()


async def test_a_client_cannot_reach_another_clients_folder(files_server: Harness, files_root: Path) -> None:
    a, b = await files_server.client("a"), await files_server.client("b")
    folder_a = client_folder(files_root, a)
    (folder_a / "items.manifest").write_text(MANIFEST)
    job = await b.create_job("J", classes=CLASSES)
    for uri in (f"../{folder_a.name}/items.manifest", str(folder_a / "items.manifest"), "items.manifest"):
        code, message = await refused(b.import_manifest(job.name, uri))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and str(files_root) not in message
    assert (await b.get_job(job.name)).counters.total_items == 0
    running = await running_job(b, items=1)
    code, _ = await refused(b.export_labels(running.name, f"../{folder_a.name}/items.manifest"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert (folder_a / "items.manifest").read_text() == MANIFEST
    await a.close()
    await b.close()


async def test_paths_inside_the_folder_work_and_symlinks_within_it_are_followed(
    files_server: Harness, files_root: Path
) -> None:
    lw = await files_server.client()
    folder = client_folder(files_root, lw)
    (folder / "in").mkdir()
    (folder / "in" / "items.manifest").write_text('{"source": "a", "id": "1"}\n{"source": "b", "id": "2"}\n')
    (folder / "latest.manifest").symlink_to(folder / "in" / "items.manifest")
    job = await lw.create_job("J", classes=CLASSES, judgments_per_item=1, quiz_size=0, hidden_gold_share=0)
    assert (await lw.import_manifest(job.name, "./in/items.manifest", key_field="id")).added_count == 2
    assert (await lw.import_manifest(job.name, "latest.manifest", key_field="id")).duplicate_count == 2
    exported = await lw.export_labels(job.name, "new/deeper/labels.manifest")
    assert exported.line_count == 2 and exported.uri == "new/deeper/labels.manifest"
    assert len((folder / "new" / "deeper" / "labels.manifest").read_text().splitlines()) == 2
    await lw.close()


async def test_a_manifest_that_is_not_utf8_is_refused_naming_the_uri(
    files_server: Harness, files_root: Path
) -> None:
    lw = await files_server.client()
    (client_folder(files_root, lw) / "latin1.csv").write_bytes("source,id\ncaf\xe9,1\n".encode("latin-1"))
    job = await lw.create_job("J", classes=CLASSES)
    code, message = await refused(lw.import_manifest(job.name, "latin1.csv"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and message == "uri 'latin1.csv' is not UTF-8 text"
    assert (await lw.get_job(job.name)).counters.total_items == 0
    await lw.close()


async def test_a_manifest_line_nested_too_deeply_is_refused_naming_it(
    files_server: Harness, files_root: Path
) -> None:
    lw = await files_server.client()
    deep = '{"source": "a", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    (client_folder(files_root, lw) / "deep.manifest").write_text('{"source": "ok"}\n' + deep + "\n")
    job = await lw.create_job("J", classes=CLASSES)
    code, message = await refused(lw.import_manifest(job.name, "deep.manifest"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and message == "manifest line 2: JSON nested too deeply"
    assert (await lw.get_job(job.name)).counters.total_items == 0
    await lw.close()


async def test_without_a_files_root_local_paths_are_refused(
    database: str, clock: Clock, tmp_path: Path
) -> None:
    (tmp_path / "items.manifest").write_text(MANIFEST)
    async with serving(database, clock) as server:
        lw = await server.client()
        job = await lw.create_job("J", classes=CLASSES)
        for uri in (str(tmp_path / "items.manifest"), "items.manifest"):
            code, message = await refused(lw.import_manifest(job.name, uri))
            assert code == grpc.StatusCode.PERMISSION_DENIED and "files root" in message
        code, _ = await refused(lw.export_labels(job.name, str(tmp_path / "out.manifest")))
        assert code == grpc.StatusCode.PERMISSION_DENIED
        assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("labelwire.db")) == [
            "items.manifest"
        ]
        assert (await lw.get_job(job.name)).counters.total_items == 0
        await lw.close()


async def test_the_database_and_its_key_are_refused_even_inside_the_client_folder(
    clock: Clock, tmp_path: Path
) -> None:
    """An operator who makes the data folder a client's folder still keeps the database."""
    data = tmp_path / "root" / "1"  # the folder of the first client (id 1) of a fresh database
    data.mkdir(parents=True)
    database = data / "labelwire.db"
    (data / "labelwire.db.admin-key").write_text("the operator's admin key\n")
    async with serving(str(database), clock, FilesSettings.build(tmp_path / "root")) as server:
        lw = await server.client()
        assert client_folder(tmp_path / "root", lw) == data
        job = await running_job(lw, items=1)
        for name in ("labelwire.db", "labelwire.db.admin-key", "labelwire.db-wal"):
            code, _ = await refused(lw.export_labels(job.name, name))
            assert code == grpc.StatusCode.INVALID_ARGUMENT
            code, _ = await refused(lw.import_manifest(job.name, name))
            assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert (data / "labelwire.db.admin-key").read_text() == "the operator's admin key\n"
        assert (await lw.get_job(job.name)).counters.total_items == 1
        await lw.close()


async def test_a_failed_export_leaves_the_old_file_and_nothing_else(
    files_server: Harness, files_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lw = await files_server.client()
    folder = client_folder(files_root, lw)
    job = await running_job(lw, items=3)
    _, token = await lw.create_worker(job.name, "w")
    async with files_server.worker(token) as w:
        await work(w)
    (folder / "labels.manifest").write_text("the previous export\n")
    real = exports.export_line

    def failing(row: exports.ExportItem, fmt: exports.ExportFormat) -> tuple[dict[str, Any], bool]:
        if row.item_key == "i1":
            raise OSError(28, "No space left on device")
        return real(row, fmt)

    monkeypatch.setattr(exports, "export_line", failing)
    for uri in ("labels.manifest", "new/folders/labels.manifest"):
        code, message = await refused(lw.export_labels(job.name, uri))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and uri in message
        assert [p.name for p in folder.iterdir()] == ["labels.manifest"]
        assert (folder / "labels.manifest").read_text() == "the previous export\n"
    monkeypatch.setattr(exports, "export_line", real)
    assert (await lw.export_labels(job.name, "labels.manifest")).line_count == 3
    lines = [json.loads(x) for x in (folder / "labels.manifest").read_text().splitlines()]
    assert [x["labelwire-key"] for x in lines] == ["i0", "i1", "i2"]
    assert [p.name for p in folder.iterdir()] == ["labels.manifest"]
    await lw.close()


@pytest.mark.parametrize("swapped", ["in", "in/items.manifest"])
def test_a_symlink_swapped_in_after_the_check_is_not_followed(tmp_path: Path, swapped: str) -> None:
    """The race an attacker with a shell on the server could try: the path is
    checked, then a folder or the file itself becomes a symlink out."""
    root, away = tmp_path / "root", tmp_path / "away"
    (root / "3" / "in").mkdir(parents=True)
    away.mkdir()
    (away / "items.manifest").write_text(MANIFEST)
    (root / "3" / "in" / "items.manifest").write_text('{"source": "mine"}\n')
    settings = FilesSettings.build(root)
    read = resolve(settings, 3, "in/items.manifest", "uri", write=False)
    write = resolve(settings, 3, "in/items.manifest", "uri", write=True)
    target = root / "3" / swapped
    if target.is_dir():
        shutil.rmtree(target)
    else:
        target.unlink()
    target.symlink_to(away if swapped == "in" else away / "items.manifest")
    before = snapshot(root / "3", away)
    with pytest.raises(InvalidArgument, match="not a readable file"):
        list(files.read_rows(read, "jsonl"))
    with pytest.raises(InvalidArgument, match="cannot be written"):
        files.write_lines(write, [{"source": "planted over"}])
    assert snapshot(root / "3", away) == before
    assert (away / "items.manifest").read_text() == MANIFEST
