"""The `labelwire` command: `serve` runs the server, `demo` shows the whole path."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from labelwire.server import auth

DEFAULT_ADDRESS = "127.0.0.1:50051"
DEFAULT_DATABASE = "labelwire-data/labelwire.db"


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"LABELWIRE_{name}", default)


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
    from labelwire.server.app import start_server

    admin_key, admin_source = admin_key_for(args.database, args.admin_key)
    running = await start_server(
        address=args.address,
        database=args.database,
        admin_key=admin_key,
        tls_cert=Path(args.tls_cert) if args.tls_cert else None,
        tls_key=Path(args.tls_key) if args.tls_key else None,
        max_streams_per_client=args.max_streams_per_client,
    )
    host = args.address.rsplit(":", 1)[0]
    logging.getLogger("labelwire").info(
        "labelwire listening on %s:%d (%s), data in %s, admin key in %s",
        host,
        running.port,
        "TLS" if args.tls_cert else "plaintext",
        args.database,
        admin_source,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await running.stop(grace=5.0)


async def _import(args: argparse.Namespace) -> int:
    from labelwire.server.core import Core
    from labelwire.server.imports import import_job
    from labelwire.server.store import open_store

    store = open_store(args.database)
    core = Core(store, admin_key=auth.new_secret())
    try:
        owner = await core.authenticate(args.api_key)
        summary = await import_job(core, owner, args.uri, args.method)
    finally:
        await core.close()
        store.close()
    print(
        f"{summary.job_name}: {summary.items} items, {summary.judgments} judgments, {summary.failed} failed;"
        f" our label equals Ground Truth's on {summary.agree_with_groundtruth} of {summary.compared}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="labelwire", description="A gRPC labeling backend with pluggable workforces."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the server",
        description="Run the labelwire gRPC server. Every flag has a LABELWIRE_* environment variable.",
    )
    serve.add_argument(
        "--address",
        default=_env("ADDRESS", DEFAULT_ADDRESS),
        help=f"HOST:PORT to listen on (LABELWIRE_ADDRESS; default {DEFAULT_ADDRESS})",
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
        "--max-streams-per-client",
        type=int,
        default=int(_env("MAX_STREAMS_PER_CLIENT", "16") or 16),
        help="StreamLabels calls one client key may have open at once on this server; more get"
        " RESOURCE_EXHAUSTED (LABELWIRE_MAX_STREAMS_PER_CLIENT; default 16)",
    )
    demo = commands.add_parser("demo", help="run the whole path on a sample dataset with simulated workers")
    demo.add_argument("--seed", type=int, default=7, help="random seed of the simulated workers")
    imports = commands.add_parser(
        "import-groundtruth",
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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if bool(getattr(args, "tls_cert", None)) != bool(getattr(args, "tls_key", None)):
        parser.error("--tls-cert and --tls-key go together")
    if args.command == "serve":
        asyncio.run(_serve(args))
        return 0
    if args.command == "import-groundtruth":
        return asyncio.run(_import(args))
    from labelwire.server.demo import run_demo

    code: int = asyncio.run(run_demo(seed=args.seed))
    return code


if __name__ == "__main__":
    sys.exit(main())
