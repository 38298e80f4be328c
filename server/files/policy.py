"""Where a client's `uri` may point: its own folder under the operator's files
root, or its own sub-prefix of the S3 prefixes the operator allows.

A client names files the server reads (ImportManifest) and writes
(ExportLabels) with the server's own rights, so every name is checked here
before anything is opened: a local path is resolved (symlinks followed) and
must stay inside `<root>/<client id>/`; an `s3://` URI must fall under an
allowed prefix, and under `<prefix>/<client id>/` unless the operator shares
the prefixes. Messages repeat the client's own text, never a server path, and
say the same thing whether a file is missing or outside the folder.

After the check, files are opened from the client folder down one component
at a time with `O_NOFOLLOW` (`openat`), so a symlink swapped in after the check
is refused rather than followed.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from labelwire.server.domain.errors import InvalidArgument, PermissionDenied

MAX_URI_CHARS = 1024
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_SHOWN_CHARS = 200


@dataclass(frozen=True)
class S3Prefix:
    bucket: str
    prefix: str
    """The key prefix, empty or ending in `/`."""

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


@dataclass(frozen=True)
class FilesSettings:
    """The operator's choices: `root` (None: no local paths from clients),
    the allowed S3 prefixes (none: no S3), and whether clients share those
    prefixes instead of each getting `<prefix>/<client id>/`. `protected`
    names files no client may read or write whatever the root (the database
    and its key file)."""

    root: Path | None = None
    s3_allow: tuple[S3Prefix, ...] = ()
    s3_shared: bool = False
    protected: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def build(
        cls,
        root: str | Path | None = None,
        s3_allow: Iterable[str] = (),
        *,
        s3_shared: bool = False,
        protected: Iterable[str | Path] = (),
    ) -> FilesSettings:
        """Settings from the operator's text; raises ValueError on a root that
        is not a directory or a prefix that is not `s3://bucket[/prefix]`."""
        real_root = None
        if root:
            real_root = Path(os.path.realpath(root))
            if not real_root.is_dir():
                raise ValueError(f"the files root {root} is not a directory")
        return cls(
            root=real_root,
            s3_allow=tuple(parse_s3_prefix(p) for p in s3_allow if p.strip()),
            s3_shared=s3_shared,
            protected=frozenset(os.path.realpath(p) for p in protected),
        )

    def protecting(self, paths: Iterable[str | Path]) -> FilesSettings:
        more = frozenset(os.path.realpath(p) for p in paths)
        return FilesSettings(self.root, self.s3_allow, self.s3_shared, self.protected | more)


def server_files(database: str) -> list[str]:
    """The files of a SQLite database and its admin key; none for PostgreSQL."""
    if database.startswith(("postgres://", "postgresql://")):
        return []
    path = database.removeprefix("sqlite:///")
    return [path, *(path + s for s in ("-wal", "-shm", "-journal", ".admin-key"))]


def parse_s3_prefix(text: str) -> S3Prefix:
    text = text.strip()
    if not text.startswith("s3://"):
        raise ValueError(f"an S3 prefix must look like s3://bucket/prefix, got {text!r}")
    bucket, _, key = text.removeprefix("s3://").partition("/")
    if not _BUCKET.match(bucket):
        raise ValueError(f"{text!r} does not start with a valid S3 bucket name")
    key = key.strip("/")
    if key and not _clean_key(key):
        raise ValueError(f"the prefix of {text!r} must not hold '.', '..' or empty segments")
    return S3Prefix(bucket, key + "/" if key else "")


@dataclass(frozen=True)
class LocalFile:
    """A checked local path: `parts` lead from the client folder `folder` to
    the file; `shown` is how messages name it (the client's own text)."""

    folder: Path
    parts: tuple[str, ...]
    shown: str


@dataclass(frozen=True)
class S3Object:
    uri: str
    bucket: str
    key: str


Target = LocalFile | S3Object


def shown(uri: str) -> str:
    """The client's text as messages quote it: printable and short."""
    text = "".join(c if c.isprintable() else "?" for c in uri[:_SHOWN_CHARS])
    return repr(text + ("…" if len(uri) > _SHOWN_CHARS else ""))


def resolve(settings: FilesSettings, client_id: int, uri: str, field_name: str, *, write: bool) -> Target:
    """The file a client's `uri` names, once it is known to be the client's to
    use; raises InvalidArgument or PermissionDenied naming `field_name`."""
    if not uri:
        raise InvalidArgument(f"{field_name} is required")
    if "\x00" in uri:
        raise InvalidArgument(f"{field_name} must not contain NUL characters")
    if len(uri) > MAX_URI_CHARS:
        raise InvalidArgument(f"{field_name} has {len(uri)} characters; the limit is {MAX_URI_CHARS}")
    if uri.startswith("s3:"):
        return _s3(settings, client_id, uri, field_name)
    if _SCHEME.match(uri) and not re.match(r"^[A-Za-z]:[\\/]", uri):
        scheme = uri.split(":", 1)[0][:20]
        raise InvalidArgument(
            f"{field_name} must be a path relative to your files folder or an s3:// URI, not a {scheme}: URI"
        )
    if settings.root is None:
        raise PermissionDenied(
            f"{field_name}: this server takes no local paths (its operator has set no files root);"
            " use an s3:// URI the operator allows"
        )
    return _local(settings, settings.root / str(client_id), uri, field_name, write=write)


def _local(settings: FilesSettings, folder: Path, uri: str, field_name: str, *, write: bool) -> LocalFile:
    relative = PurePosixPath(uri)
    if uri.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", uri) or relative.is_absolute():
        raise InvalidArgument(
            f"{field_name} must be a path relative to your files folder, not an absolute path"
        )
    if ".." in relative.parts or "\\" in uri:
        raise InvalidArgument(
            f"{field_name} must stay inside your files folder: no '..' or '\\', got {shown(uri)}"
        )
    if uri.endswith("/") or relative.name in ("", "."):
        raise InvalidArgument(f"{field_name} must name a file, got {shown(uri)}")
    real = Path(os.path.realpath(folder / relative))
    if not real.is_relative_to(folder) or real == folder or str(real) in settings.protected:
        raise unavailable(field_name, uri, write=write)
    return LocalFile(folder=folder, parts=real.relative_to(folder).parts, shown=uri)


def unavailable(field_name: str, uri: str, *, write: bool) -> InvalidArgument:
    """One message for missing, outside, a directory or unreadable, so that
    nothing outside the client folder can be told apart by its answer."""
    if write:
        return InvalidArgument(f"{field_name} {shown(uri)} cannot be written in your files folder")
    return InvalidArgument(f"{field_name} {shown(uri)} is not a readable file in your files folder")


def _clean_key(key: str) -> bool:
    return all(part not in ("", ".", "..") for part in key.split("/"))


def _s3(settings: FilesSettings, client_id: int, uri: str, field_name: str) -> S3Object:
    if not uri.startswith("s3://"):
        raise InvalidArgument(f"{field_name} must look like s3://bucket/key, got {shown(uri)}")
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket:
        raise InvalidArgument(f"{field_name} names no bucket: it must look like s3://bucket/key")
    if not _BUCKET.match(bucket):
        raise InvalidArgument(f"{field_name} names an invalid S3 bucket {shown(bucket)}")
    if not key or key.endswith("/"):
        raise InvalidArgument(f"{field_name} must name an S3 object, not a prefix: s3://bucket/key")
    if not _clean_key(key) or "\\" in key or any(not c.isprintable() for c in key):
        raise InvalidArgument(
            f"{field_name} has an S3 key with '.', '..', empty segments ('//') or control characters"
        )
    if not settings.s3_allow:
        raise PermissionDenied(
            f"{field_name}: this server takes no s3:// URIs (its operator allows no prefix)"
        )
    yours = [
        p if settings.s3_shared else S3Prefix(p.bucket, f"{p.prefix}{client_id}/") for p in settings.s3_allow
    ]
    if not any(bucket == p.bucket and key.startswith(p.prefix) for p in yours):
        allowed = ", ".join(str(p) for p in yours)
        raise PermissionDenied(f"{field_name} {shown(uri)} is outside the S3 prefixes open to you: {allowed}")
    return S3Object(uri=f"s3://{bucket}/{key}", bucket=bucket, key=key)


# --- opening a checked local file ---------------------------------------------------------------------------------

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def open_folder(target: LocalFile, field_name: str, *, made: list[Path] | None = None) -> int:
    """A descriptor of the directory holding the file, reached from the
    client folder without following any symlink. Given `made`, missing
    directories (the client folder too) are made and listed there, so that a
    failed write can remove them. The caller closes the descriptor."""
    write = made is not None
    try:
        if made is not None and not target.folder.exists():
            os.mkdir(target.folder, 0o700)
            made.append(target.folder)
        fd = os.open(target.folder, _DIR_FLAGS)
    except OSError:
        raise unavailable(field_name, target.shown, write=write) from None
    try:
        for number, part in enumerate(target.parts[:-1]):
            if made is not None:
                try:
                    os.mkdir(part, 0o700, dir_fd=fd)
                    made.append(target.folder.joinpath(*target.parts[: number + 1]))
                except FileExistsError:
                    pass
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except OSError:
        os.close(fd)
        remove_made(made or [])
        raise unavailable(field_name, target.shown, write=write) from None
    return fd


def remove_made(made: list[Path]) -> None:
    """Removes the directories a failed write made, deepest first, if still empty."""
    for path in reversed(made):
        with contextlib.suppress(OSError):
            os.rmdir(path)


def open_for_reading(target: LocalFile, field_name: str) -> int:
    """A descriptor of the regular file, refused if its last component is a
    symlink now (swapped in after the check) or it is not a regular file."""
    folder = open_folder(target, field_name)
    try:
        fd = os.open(
            target.parts[-1],
            os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0),
            dir_fd=folder,
        )
    except OSError:
        raise unavailable(field_name, target.shown, write=False) from None
    finally:
        os.close(folder)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise unavailable(field_name, target.shown, write=False)
    os.set_blocking(fd, True)
    return fd
