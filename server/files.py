"""Reading manifests from, and writing manifests to, a local path or S3.

`AWS_ENDPOINT_URL_S3` (boto3's own setting) points S3 at another server, such
as a local one in tests.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from labelwire.adapters.groundtruth import s3io
from labelwire.server.errors import InvalidArgument
from labelwire.server.validation import quote


def _local(uri: str) -> Path:
    return Path(uri.removeprefix("file://"))


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def read_rows(uri: str, fmt: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) of a JSON Lines or CSV manifest. The OS's and
    boto's error texts stay in the server: they name the server's paths."""
    if not uri.startswith("s3://") and not _is_file(_local(uri)):
        raise InvalidArgument(f"uri {quote(uri)} is not a readable file on the server", "uri")
    source = uri if uri.startswith("s3://") else str(_local(uri))
    first = 2 if fmt == "csv" else 1
    try:
        yield from enumerate(s3io.read_manifest(source, format=fmt), start=first)
    except s3io.ManifestError as exc:
        raise InvalidArgument(
            f"manifest line {exc.line}: {quote(str(exc).split(': ', 1)[-1], 200)}"
        ) from None
    except (ClientError, BotoCoreError, OSError, UnicodeError, ValueError, RecursionError, csv.Error):
        raise InvalidArgument(f"uri {quote(uri)} cannot be read as a {fmt} manifest", "uri") from None


def write_lines(uri: str, lines: Iterable[Mapping[str, Any]]) -> int:
    """Writes JSON Lines, atomically for a local path; returns the count."""
    if uri.startswith("s3://"):
        try:
            return s3io.write_lines(s3io.make_s3_client(), uri, lines)
        except (ClientError, BotoCoreError, ValueError):
            raise InvalidArgument(f"uri {quote(uri)} cannot be written", "uri") from None
    try:
        path = _local(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".partial")
        count = 0
        with tmp.open("w", encoding="utf-8") as handle:
            for line in lines:
                handle.write(json.dumps(line, ensure_ascii=False) + "\n")
                count += 1
        tmp.replace(path)
    except (OSError, ValueError):
        raise InvalidArgument(f"uri {quote(uri)} cannot be written", "uri") from None
    return count
