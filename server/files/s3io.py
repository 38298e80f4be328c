"""S3 reads and writes, with manifests streamed line by line.

Manifests can hold millions of lines, so they are never read or built whole in
memory: reads follow the response body, writes spill to a temporary file that
`upload_fileobj` sends in parts.
"""

from __future__ import annotations

import csv
import json
import re
import tempfile
from collections.abc import Generator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
else:
    S3Client = Any

_URI = re.compile(r"^s3://([^/]+)/?(.*)$")
_SPOOL_BYTES = 8 * 1024 * 1024


class ManifestError(ValueError):
    """A manifest line that cannot be read; `line` counts from 1 as editors do."""

    def __init__(self, uri: str, line: int, message: str) -> None:
        super().__init__(f"{uri} line {line}: {message}")
        self.uri = uri
        self.line = line


def make_s3_client(region: str | None = None, endpoint_url: str | None = None) -> S3Client:
    config = Config(retries={"mode": "standard", "max_attempts": 5})
    return boto3.client("s3", region_name=region, endpoint_url=endpoint_url, config=config)


def parse_s3_uri(uri: str) -> tuple[str, str]:
    match = _URI.match(uri)
    if not match:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    return match.group(1), match.group(2)


def join(prefix: str, *parts: str) -> str:
    return "/".join([prefix.rstrip("/"), *(p.strip("/") for p in parts)])


def get_bytes(s3: S3Client, uri: str) -> bytes:
    bucket, key = parse_s3_uri(uri)
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def get_json(s3: S3Client, uri: str) -> Any:
    return json.loads(get_bytes(s3, uri))


def exists(s3: S3Client, uri: str) -> bool:
    bucket, key = parse_s3_uri(uri)
    response = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    return any(o["Key"] == key for o in response.get("Contents", []))


def put_bytes(
    s3: S3Client,
    uri: str,
    data: bytes,
    *,
    content_type: str = "application/octet-stream",
    kms_key_id: str | None = None,
) -> None:
    bucket, key = parse_s3_uri(uri)
    extra: dict[str, Any] = {}
    if kms_key_id:
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id}
    s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type, **extra)


def put_json(s3: S3Client, uri: str, value: Any, *, kms_key_id: str | None = None) -> None:
    put_bytes(s3, uri, json.dumps(value).encode(), content_type="application/json", kms_key_id=kms_key_id)


def list_uris(s3: S3Client, prefix_uri: str) -> Iterator[str]:
    """Every object under a prefix, as s3:// URIs in key order."""
    bucket, prefix = parse_s3_uri(prefix_uri)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            yield f"s3://{bucket}/{obj['Key']}"


def iter_lines(s3: S3Client, uri: str) -> Iterator[str]:
    """The object's lines, decoded, with their line endings, as they arrive."""
    bucket, key = parse_s3_uri(uri)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    first = True
    for raw in body.iter_lines(keepends=True):
        line = raw.decode("utf-8")
        if first:
            line = line.removeprefix("\ufeff")
            first = False
        yield line


def read_manifest(
    uri: str, *, s3: S3Client | None = None, format: str | None = None
) -> Generator[dict[str, Any], None, None]:
    """A Ground Truth JSON Lines manifest or a CSV with a header row, one dict per line,
    from an `s3://` URI or a local path.

    The format follows the name (`.csv` is CSV, anything else JSON Lines)
    unless `format` ("jsonl" or "csv") says otherwise. Blank lines are skipped;
    a line that is not a JSON object raises ManifestError naming it.
    """
    kind = format or ("csv" if uri.lower().endswith(".csv") else "jsonl")
    if kind not in ("jsonl", "csv"):
        raise ValueError(f"manifest format must be 'jsonl' or 'csv', got {kind!r}")
    yield from parse_manifest(uri, _source_lines(uri, s3), kind)


def parse_manifest(name: str, lines: Iterable[str], kind: str) -> Iterator[dict[str, Any]]:
    """The rows of manifest text already opened (`kind` "jsonl" or "csv");
    `name` only labels errors."""
    if kind == "csv":
        yield from _csv_rows(name, lines)
        return
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            raise ManifestError(name, number, f"not JSON ({err.msg})") from None
        except RecursionError:
            raise ManifestError(name, number, "JSON nested too deeply") from None
        if not isinstance(value, dict):
            raise ManifestError(name, number, "each line must be a JSON object")
        yield value


def _source_lines(uri: str, s3: S3Client | None) -> Iterator[str]:
    if uri.startswith("s3://"):
        yield from iter_lines(s3 or make_s3_client(), uri)
        return
    with open(uri, encoding="utf-8-sig", newline="") as local:
        yield from local


def _csv_rows(uri: str, lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    reader = csv.reader(lines)
    header: list[str] | None = None
    for row in reader:
        if header is None:
            header = row
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise ManifestError(uri, reader.line_num, f"has {len(row)} columns, the header has {len(header)}")
        yield dict(zip(header, row, strict=True))


def write_lines(
    s3: S3Client, uri: str, lines: Iterable[Mapping[str, Any]], *, kms_key_id: str | None = None
) -> int:
    """Writes JSON Lines to S3 and returns how many were written."""
    chunks = (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines)
    return write_text(s3, uri, chunks, "application/jsonlines", kms_key_id=kms_key_id)


def write_text(
    s3: S3Client, uri: str, chunks: Iterable[str], content_type: str, *, kms_key_id: str | None = None
) -> int:
    """Writes the chunks as one S3 object, spooled to disk past a few MiB; returns how many."""
    bucket, key = parse_s3_uri(uri)
    count = 0
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
        for chunk in chunks:
            spool.write(chunk.encode())
            count += 1
        spool.seek(0)
        extra: dict[str, Any] = {"ContentType": content_type}
        if kms_key_id:
            extra.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=kms_key_id)
        s3.upload_fileobj(spool, bucket, key, ExtraArgs=extra)
    return count
