"""Reading manifests from, and writing manifests to, a local path or S3.

`AWS_ENDPOINT_URL_S3` (boto3's own setting) points S3 at another server, such
as a local one in tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from labelwire.adapters.groundtruth import s3io
from labelwire.server.errors import InvalidArgument


def _local(uri: str) -> Path:
    return Path(uri.removeprefix("file://"))


def read_rows(uri: str, fmt: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) of a JSON Lines or CSV manifest."""
    if not uri.startswith("s3://") and not _local(uri).is_file():
        raise InvalidArgument(f"uri {uri!r} is not a readable file on the server")
    source = uri if uri.startswith("s3://") else str(_local(uri))
    first = 2 if fmt == "csv" else 1
    try:
        yield from enumerate(s3io.read_manifest(source, format=fmt), start=first)
    except s3io.ManifestError as exc:
        raise InvalidArgument(f"manifest line {exc.line}: {str(exc).split(': ', 1)[-1]}") from None
    except (ClientError, BotoCoreError) as exc:
        raise InvalidArgument(f"uri {uri!r} cannot be read: {exc}") from None


def write_lines(uri: str, lines: Iterable[Mapping[str, Any]]) -> int:
    """Writes JSON Lines, atomically for a local path; returns the count."""
    if uri.startswith("s3://"):
        try:
            return s3io.write_lines(s3io.make_s3_client(), uri, lines)
        except (ClientError, BotoCoreError) as exc:
            raise InvalidArgument(f"uri {uri!r} cannot be written: {exc}") from None
    path = _local(uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".partial")
    count = 0
    with tmp.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
            count += 1
    tmp.replace(path)
    return count
