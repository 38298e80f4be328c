"""The `labelwire` command: `serve` runs the server, `demo` shows the whole
path, `jobs` shows jobs' progress, `import-groundtruth` re-consolidates a
finished Ground Truth job."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import signal
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from labelwire.server.cli import heap, run_groundtruth
from labelwire.server.cli import jobs as jobs_cli
from labelwire.server.core import auth
from labelwire.server.files.policy import FilesSettings
from labelwire.server.store.postgres_writer import DEFAULT_WRITERS
from labelwire.server.telemetry import logs

DEFAULT_ADDRESS = "127.0.0.1:50051"
DEFAULT_HTTP_ADDRESS = "127.0.0.1:8080"
DEFAULT_DATABASE = "labelwire-data/labelwire.db"


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"LABELWIRE_{name}", default)


def labelwire_version() -> str:
    try:
        return version("labelwire")
    except PackageNotFoundError:
        return "unknown"


def shown_database(database: str) -> str:
    """The database setting as it may appear in a log: without a password,
    whether in the URL's user part or as a `password=` parameter."""
    if not database.startswith(("postgres://", "postgresql://")):
        return database
    hidden = re.sub(r"^(postgres(?:ql)?://[^:/@?]*:)[^@/?]*@", r"\1***@", database)
    return re.sub(r"([?&]password=)[^&]*", r"\1***", hidden)


def admin_key_for(database: str, given: str | None) -> tuple[str, str]:
    """The admin key, and where it came from. Without one given, a key is made
    once and kept beside the SQLite file, readable by its owner only."""
    if given:
        return given, "--admin-key"
    if database.startswith(("postgres://", "postgresql://")):
        raise SystemExit("set --admin-key (or LABELWIRE_ADMIN_KEY) when the database is PostgreSQL")
    path = Path(database.removeprefix("sqlite:///") + ".admin-key")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(auth.new_secret() + "\n")
    return path.read_text().strip(), str(path)


async def _serve(args: argparse.Namespace) -> None:
    from labelwire.server.transport.app import start_server

    log = logging.getLogger("labelwire")
    admin_key, admin_source = admin_key_for(args.database, args.admin_key)
    try:
        running = await start_server(
            address=args.address,
            database=args.database,
            admin_key=admin_key,
            tls_cert=Path(args.tls_cert) if args.tls_cert else None,
            tls_key=Path(args.tls_key) if args.tls_key else None,
            metrics_address=args.metrics_address,
            metrics_allow_remote=args.metrics_allow_remote,
            files=args.files,
            credential_cache_seconds=float(args.credential_cache_seconds),
            max_streams_per_client=args.max_streams_per_client,
            database_writers=args.database_writers,
            http_address=args.http_address or None,
            http_cors_origins=args.http_cors_origin,
        )
    except OSError as exc:  # a port in use, a certificate file missing
        raise SystemExit(f"labelwire serve: {exc}") from exc
    heap.settle_after_start()
    host = args.address.rsplit(":", 1)[0]
    store = "postgres" if args.database.startswith(("postgres://", "postgresql://")) else "sqlite"
    started = {
        "version": labelwire_version(),
        "address": f"{host}:{running.port}",
        "tls": bool(args.tls_cert),
        "store": store,
        "database": shown_database(args.database),
        "admin_key_source": admin_source,
        "metrics_address": f"{args.metrics_address.rsplit(':', 1)[0]}:{running.metrics.port}"
        if running.metrics
        else None,
        "http_address": f"{args.http_address.rsplit(':', 1)[0]}:{running.http.port}"
        if running.http
        else None,
    }
    scheme = "https" if args.tls_cert else "http"
    log.info(
        "labelwire %s listening on %s (%s), Connect and gRPC-Web %s, %s data in %s, admin key in %s, metrics %s",
        started["version"],
        started["address"],
        "TLS" if args.tls_cert else "plaintext",
        f"on {scheme}://{started['http_address']}" if running.http else "off",
        store,
        started["database"],
        admin_source,
        f"on http://{started['metrics_address']}/metrics" if running.metrics else "off",
        extra={"event": "start", **started},
    )
    files: FilesSettings = args.files
    log.info(
        "client files: %s; S3: %s",
        f"inside {files.root}/<client id>/" if files.root else "no local paths",
        ", ".join(f"{p}{'' if files.s3_shared else '<client id>/'}" for p in files.s3_allow) or "none",
    )
    stop = asyncio.Event()
    reason: list[str] = []

    def on_signal(sig: signal.Signals) -> None:
        reason.append(sig.name)
        stop.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    await stop.wait()
    log.info(
        "labelwire stopping on %s; in-flight calls get 5 s",
        reason[0],
        extra={"event": "stopping", "reason": reason[0]},
    )
    await running.stop(grace=5.0)
    log.info("labelwire stopped", extra={"event": "stop", "reason": reason[0]})


async def _import(args: argparse.Namespace) -> int:
    from labelwire.server.cli.import_groundtruth import failure_message, import_job
    from labelwire.server.core import Core
    from labelwire.server.store import open_store

    # botocore narrates its credential and endpoint search at INFO; a command's output is its result.
    logging.getLogger("botocore").setLevel(logging.WARNING)
    store = open_store(args.database)
    core = Core(store, admin_key=auth.new_secret())
    try:
        owner = await core.credentials.authenticate(args.api_key)
        summary = await import_job(core, owner, args.uri, args.method)
    except Exception as err:
        message = failure_message(err, args.uri)
        if message is None:
            raise
        print(f"labelwire import-groundtruth: {message}", file=sys.stderr)
        return 2
    finally:
        await core.close()
        store.close()
    print(
        f"{summary.job_name}: {summary.items} items, {summary.judgments} judgments, {summary.failed} failed;"
        f" our label equals Ground Truth's on {summary.agree_with_groundtruth} of {summary.compared}"
    )
    return 0


def _files_settings(parser: argparse.ArgumentParser, args: argparse.Namespace) -> FilesSettings:
    prefixes = args.s3_allow if args.s3_allow is not None else (_env("S3_ALLOW") or "").split(",")
    try:
        return FilesSettings.build(args.files_root, prefixes, s3_shared=args.s3_shared)
    except ValueError as exc:
        parser.error(str(exc))


def _cors_origins(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """Each origin exactly as a browser sends it (scheme://host[:port]), so a
    typo fails at start-up instead of silently matching nothing."""
    given = args.http_cors_origin
    if given is None:
        given = [o.strip() for o in (_env("HTTP_CORS_ORIGINS") or "").split(",") if o.strip()]
    for origin in given:
        if origin != "*" and not re.fullmatch(r"https?://[^/\s?#@]+", origin):
            parser.error(
                f"--http-cors-origin (LABELWIRE_HTTP_CORS_ORIGINS) must be scheme://host[:port] with no path,"
                f" or '*', got {origin!r}"
            )
    if given and not args.http_address:
        parser.error("--http-cors-origin needs the HTTP port: set --http-address")
    return list(given)


def _logging_flags() -> argparse.ArgumentParser:
    flags = argparse.ArgumentParser(add_help=False)
    flags.add_argument(
        "--log-level",
        default=(_env("LOG_LEVEL", "INFO") or "INFO").upper(),
        choices=logs.LEVELS,
        type=str.upper,
        help="DEBUG logs every call (LABELWIRE_LOG_LEVEL; default INFO)",
    )
    flags.add_argument(
        "--log-format",
        default=_env("LOG_FORMAT", "plain"),
        choices=logs.FORMATS,
        help="plain text, or one JSON object per line (LABELWIRE_LOG_FORMAT; default plain)",
    )
    return flags


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labelwire", description="A gRPC labeling backend with pluggable workforces."
    )
    parser.add_argument("--version", action="version", version=f"labelwire {labelwire_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    log_flags = _logging_flags()
    serve = commands.add_parser(
        "serve",
        parents=[log_flags],
        help="run the server",
        description="Run the labelwire gRPC server. Every flag has a LABELWIRE_* environment variable.",
    )
    serve.add_argument(
        "--address",
        default=_env("ADDRESS", DEFAULT_ADDRESS),
        help=f"HOST:PORT to listen on (LABELWIRE_ADDRESS; default {DEFAULT_ADDRESS})",
    )
    serve.add_argument(
        "--http-address",
        default=_env("HTTP_ADDRESS", DEFAULT_HTTP_ADDRESS),
        help="HOST:PORT serving every service over Connect (JSON and binary, HTTP/1.1 and HTTP/2) and"
        " gRPC-Web, with TLS when --tls-cert is set; '' turns it off"
        f" (LABELWIRE_HTTP_ADDRESS; default {DEFAULT_HTTP_ADDRESS})",
    )
    serve.add_argument(
        "--http-cors-origin",
        action="append",
        default=None,
        metavar="ORIGIN",
        help="a browser origin (https://console.example.com) allowed to call the HTTP port from its pages;"
        " repeatable, '*' for any (LABELWIRE_HTTP_CORS_ORIGINS, comma-separated; default: no CORS headers)",
    )
    serve.add_argument(
        "--database",
        default=_env("DATABASE", DEFAULT_DATABASE),
        help="SQLite file path, or a postgresql:// URL for several replicas"
        f" (LABELWIRE_DATABASE; default {DEFAULT_DATABASE})",
    )
    serve.add_argument(
        "--tls-cert",
        default=_env("TLS_CERT"),
        help="PEM certificate; TLS is on with --tls-key too (LABELWIRE_TLS_CERT)",
    )
    serve.add_argument("--tls-key", default=_env("TLS_KEY"), help="PEM private key (LABELWIRE_TLS_KEY)")
    serve.add_argument(
        "--admin-key",
        default=_env("ADMIN_KEY"),
        help="the key that creates client API keys (LABELWIRE_ADMIN_KEY; default: made once and kept"
        " in <database>.admin-key)",
    )
    serve.add_argument(
        "--metrics-address",
        default=_env("METRICS_ADDRESS"),
        help="HOST:PORT to serve Prometheus metrics on at /metrics, e.g. 127.0.0.1:9464"
        " (LABELWIRE_METRICS_ADDRESS; default off); loopback only unless --metrics-allow-remote",
    )
    serve.add_argument(
        "--metrics-allow-remote",
        action="store_true",
        default=_env("METRICS_ALLOW_REMOTE", "") not in ("", "0", "false"),
        help="allow a --metrics-address that is not loopback: the series name jobs and their progress"
        " (LABELWIRE_METRICS_ALLOW_REMOTE=1)",
    )
    serve.add_argument(
        "--files-root",
        default=_env("FILES_ROOT"),
        help="directory whose <client id>/ folders hold the files clients name in ImportManifest and"
        " ExportLabels (LABELWIRE_FILES_ROOT; default: no local paths from clients)",
    )
    serve.add_argument(
        "--s3-allow",
        action="append",
        default=None,
        metavar="S3_PREFIX",
        help="an s3://bucket/prefix clients may read and write, each in <prefix>/<client id>/; repeatable"
        " (LABELWIRE_S3_ALLOW, comma-separated; default: no s3:// URIs from clients)",
    )
    serve.add_argument(
        "--s3-shared",
        action="store_true",
        default=_env("S3_SHARED", "") in ("1", "true", "yes"),
        help="let every client use the whole of each --s3-allow prefix, not only its own sub-prefix"
        " (LABELWIRE_S3_SHARED=1)",
    )
    serve.add_argument(
        "--credential-cache-seconds",
        type=float,
        default=_env("CREDENTIAL_CACHE_SECONDS", "2"),
        help="how long a replica trusts a key or token it has checked; a revocation takes effect on every"
        " replica within it (LABELWIRE_CREDENTIAL_CACHE_SECONDS; default 2, at most 5)",
    )
    serve.add_argument(
        "--database-writers",
        type=int,
        default=int(_env("DATABASE_WRITERS", str(DEFAULT_WRITERS)) or DEFAULT_WRITERS),
        help="connections this replica writes to PostgreSQL on, each committing its own groups of writes"
        f" (LABELWIRE_DATABASE_WRITERS; default {DEFAULT_WRITERS}; SQLite always has one)",
    )
    serve.add_argument(
        "--max-streams-per-client",
        type=int,
        default=int(_env("MAX_STREAMS_PER_CLIENT", "16") or 16),
        help="StreamLabels, WatchJob and StreamLabelManifest calls (together) one client key may have open"
        " at once on this server; more get RESOURCE_EXHAUSTED (LABELWIRE_MAX_STREAMS_PER_CLIENT; default 16)",
    )
    demo = commands.add_parser(
        "demo",
        parents=[log_flags],
        help="run the whole path on a sample dataset with simulated workers",
        description="Start a server on a free port with a temporary SQLite file, create a job over a shipped"
        " sample of restaurant reviews, let simulated pool workers of mixed skill (good, careless, a spammer)"
        " work it over gRPC, print progress, and report the labels' accuracy against the truth.",
    )
    demo.add_argument("--seed", type=int, default=7, help="random seed of the simulated workers")
    demo.add_argument(
        "--console",
        action="store_true",
        help="also serve the owner console over HTTP, print its address and the demo's API key, let the"
        " workers answer at a pace you can watch, and keep the server up after the job until Ctrl-C",
    )
    demo.add_argument(
        "--http-address",
        default="127.0.0.1:8080",
        help="HOST:PORT of the console with --console (port 0 for any free one; default 127.0.0.1:8080)",
    )
    demo.add_argument(
        "--pace",
        type=float,
        default=0.3,
        help="with --console, about how many seconds each simulated worker takes per answer (default 0.3)",
    )
    jobs_cli.add_parser(commands, dict(os.environ))
    run_groundtruth.add_parser(commands, dict(os.environ), [log_flags])
    imports = commands.add_parser(
        "import-groundtruth",
        parents=[log_flags],
        help="re-consolidate a finished Ground Truth job from its S3 folder",
        description="Import a finished Ground Truth job's worker responses (s3://bucket/prefix/<job-name>/) into a"
        " new labelwire job on the given database, owned by the client whose API key is given, and consolidate them."
        " AWS credentials and region come from the usual AWS settings.",
    )
    imports.add_argument("uri", help="the job folder: s3://bucket/<S3OutputPath>/<job-name>/")
    imports.add_argument(
        "--database", default=_env("DATABASE", DEFAULT_DATABASE), help="the server's database"
    )
    imports.add_argument(
        "--api-key",
        default=_env("API_KEY"),
        required=_env("API_KEY") is None,
        help="the owning client's API key (LABELWIRE_API_KEY)",
    )
    imports.add_argument(
        "--method",
        default="dawid_skene",
        choices=["majority_vote", "weighted_majority", "dawid_skene", "one_coin", "glad"],
        help="consolidation method (default dawid_skene)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    level, fmt = getattr(args, "log_level", "INFO"), getattr(args, "log_format", "plain")
    if level not in logs.LEVELS:  # argparse checks flags, not defaults from the environment
        parser.error(
            f"--log-level (LABELWIRE_LOG_LEVEL) must be one of {', '.join(logs.LEVELS)}, got {level}"
        )
    if fmt not in logs.FORMATS:
        parser.error(
            f"--log-format (LABELWIRE_LOG_FORMAT) must be one of {', '.join(logs.FORMATS)}, got {fmt}"
        )
    logs.configure(level, fmt)
    if bool(getattr(args, "tls_cert", None)) != bool(getattr(args, "tls_key", None)):
        parser.error("--tls-cert and --tls-key go together")
    if args.command == "serve":
        if args.metrics_address:
            from labelwire.server.telemetry.metrics import check_address

            try:
                check_address(args.metrics_address, allow_remote=args.metrics_allow_remote)
            except ValueError as exc:
                parser.error(str(exc))
        args.files = _files_settings(parser, args)
        args.http_cors_origin = _cors_origins(parser, args)
        asyncio.run(_serve(args))
        return 0
    if args.command == "jobs":
        jobs_cli.check(parser, args)
        return asyncio.run(jobs_cli.run(args))
    if args.command == "import-groundtruth":
        return asyncio.run(_import(args))
    if args.command == "run-groundtruth-job":
        return asyncio.run(run_groundtruth.main(args))
    from labelwire.server.cli.demo import run_demo

    code: int = asyncio.run(
        run_demo(seed=args.seed, console=args.console, http_address=args.http_address, pace=args.pace)
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
