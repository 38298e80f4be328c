"""Reading manifests from, and writing manifests to, a checked local file or S3.

`files_policy.resolve` decides first whether the client may use the file at
all; this module only reads and writes what it returned, and turns every
failure into InvalidArgument naming the client's `uri`, never a server path.
`AWS_ENDPOINT_URL_S3` (boto3's own setting) points S3 at another server, such
as a local one in tests.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import os
import secrets
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError

from labelwire.server.domain.errors import InvalidArgument
from labelwire.server.files import s3io
from labelwire.server.files.policy import (
    LocalFile,
    S3Object,
    Target,
    open_folder,
    open_for_reading,
    remove_made,
    shown,
    unavailable,
)


def _s3_error(field: str, target: S3Object, exc: BaseException, verb: str) -> InvalidArgument:
    """S3's error code only: its full text can name the server's endpoint or temporary files."""
    cause = exc if isinstance(exc, ClientError) else exc.__context__
    if isinstance(cause, ClientError):
        code = cause.response.get("Error", {}).get("Code", "error")
        return InvalidArgument(f"{field} {shown(target.uri)} cannot be {verb} in S3: {code}")
    return InvalidArgument(f"{field} {shown(target.uri)} cannot be {verb}: S3 did not answer")


def read_rows(target: Target, fmt: str, field: str = "uri") -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) of a JSON Lines or CSV manifest."""
    first = 2 if fmt == "csv" else 1
    name = target.uri if isinstance(target, S3Object) else target.shown
    try:
        if isinstance(target, S3Object):
            yield from enumerate(s3io.read_manifest(target.uri, format=fmt), start=first)
            return
        with open(open_for_reading(target, field), encoding="utf-8-sig", newline="") as handle:
            yield from enumerate(s3io.parse_manifest(name, handle, fmt), start=first)
    except s3io.ManifestError as exc:
        raise InvalidArgument(f"manifest line {exc.line}: {str(exc).split(': ', 1)[-1]}") from None
    except UnicodeDecodeError:
        raise InvalidArgument(f"{field} {shown(name)} is not UTF-8 text") from None
    except csv.Error as exc:
        raise InvalidArgument(f"{field} {shown(name)} is not a readable CSV file: {exc}") from None
    except (ClientError, BotoCoreError) as exc:
        assert isinstance(target, S3Object)
        raise _s3_error(field, target, exc, "read") from None
    except OSError:
        raise unavailable(field, name, write=False) from None


def write_lines(target: Target, lines: Iterable[Mapping[str, Any]], field: str = "uri") -> int:
    """Writes JSON Lines and returns the count. Nothing is left behind when it
    fails: a local file is written beside the target under a temporary name and
    renamed over it only once complete and on disk; an S3 object appears only
    when its upload completes."""
    if isinstance(target, S3Object):
        try:
            return s3io.write_lines(s3io.make_s3_client(), target.uri, lines)
        except (ClientError, BotoCoreError, Boto3Error) as exc:
            raise _s3_error(field, target, exc, "written") from None
    return _write_local(target, (json.dumps(line, ensure_ascii=False) + "\n" for line in lines), field)


def write_csv(
    target: Target, header: Sequence[str], rows: Iterable[Sequence[Any]], field: str = "uri"
) -> int:
    """Writes a header and rows as CSV and returns the rows' count, with
    write_lines's guarantee that a failed write leaves nothing behind."""

    def chunks() -> Iterator[str]:
        for row in itertools.chain([header], rows):
            out = io.StringIO()
            csv.writer(out).writerow(row)
            yield out.getvalue()

    if isinstance(target, S3Object):
        try:
            return s3io.write_text(s3io.make_s3_client(), target.uri, chunks(), "text/csv") - 1
        except (ClientError, BotoCoreError, Boto3Error) as exc:
            raise _s3_error(field, target, exc, "written") from None
    return _write_local(target, chunks(), field) - 1


def write_document(target: Target, value: Any, field: str = "uri") -> None:
    """Writes one JSON document, with write_lines's guarantee that a failed
    write leaves nothing behind."""
    text = json.dumps(value, ensure_ascii=False)
    if isinstance(target, S3Object):
        try:
            s3io.put_bytes(s3io.make_s3_client(), target.uri, text.encode(), content_type="application/json")
        except (ClientError, BotoCoreError, Boto3Error) as exc:
            raise _s3_error(field, target, exc, "written") from None
        return
    _write_local(target, [text], field)


def _write_local(target: LocalFile, chunks: Iterable[str], field: str) -> int:
    made: list[Path] = []
    folder = open_folder(target, field, made=made)
    name = target.parts[-1]
    temporary = f".{name[:100]}.{secrets.token_hex(8)}.partial"
    try:
        try:
            existing = os.stat(name, dir_fd=folder, follow_symlinks=False)
            if not stat.S_ISREG(existing.st_mode):
                raise unavailable(field, target.shown, write=True)
        except FileNotFoundError:
            pass
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(temporary, flags, 0o666, dir_fd=folder)
        try:
            count = 0
            with open(fd, "w", encoding="utf-8", newline="\n") as handle:
                for chunk in chunks:
                    handle.write(chunk)
                    count += 1
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=folder)
            raise
        os.fsync(folder)
        return count
    except BaseException as exc:
        remove_made(made)
        if isinstance(exc, OSError):
            raise unavailable(field, target.shown, write=True) from None
        raise
    finally:
        os.close(folder)
