"""The command line of `bench/throughput.py`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .phases import run
from .report import table
from .servers import serve_echo
from .settings import RESULTS


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    about = sys.modules[__package__ or "throughput"].__doc__
    parser = argparse.ArgumentParser(description=about.split("\n\n")[0] if about else None)
    parser.add_argument(
        "--items", type=int, default=100_000, help="items in the judged job (default 100,000)"
    )
    parser.add_argument("--workers", type=int, default=64, help="concurrent simulated workers (default 64)")
    parser.add_argument(
        "--drivers", type=int, default=1, help="driver processes sharing the workers (default 1)"
    )
    parser.add_argument(
        "--judgment-seconds",
        type=float,
        default=420.0,
        help="upper bound on the judging phase; it also ends when the job completes (default 420)",
    )
    parser.add_argument(
        "--echo-seconds", type=float, default=20.0, help="length of the echo phase (default 20)"
    )
    parser.add_argument(
        "--ratio-pairs",
        type=int,
        default=6,
        help="back-to-back (echo, judging) pairs for the paired ratio; 0 skips (default 6)",
    )
    parser.add_argument(
        "--ratio-seconds", type=float, default=10.0, help="length of each half of a pair (default 10)"
    )
    parser.add_argument(
        "--million-items",
        type=int,
        default=1_000_000,
        help="items added to a second job to read the server's RSS; 0 skips (default 1,000,000)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="20,000 items, 30 s judging, 10 s echo, 2 pairs of 5 s, no million-item step",
    )
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument(
        "--want-next",
        dest="mode_choice",
        action="store_const",
        const="want_next",
        help="workers answer with SubmitJudgment(want_next) and follow its `next`, as the worker app"
        " and the SDK do: one RPC a judgment (the default)",
    )
    modes.add_argument(
        "--two-calls",
        dest="mode_choice",
        action="store_const",
        const="two_calls",
        help="workers do NextTask then SubmitJudgment for each judgment (the benchmark before 2026-12-02)",
    )
    modes.add_argument(
        "--both-modes",
        dest="mode_choice",
        action="store_const",
        const="both",
        help="judge in both modes, each on a job of its own, against the same echo runs",
    )
    parser.add_argument(
        "--py-spy", metavar="PATH", help="py-spy binary: names the server's threads in the table"
    )
    parser.add_argument(
        "--profile-seconds",
        type=float,
        default=0.0,
        help="with --py-spy: sample the server's stacks this long while judging (default 0: off)",
    )
    parser.add_argument(
        "--out", type=Path, help="JSON path (default bench/results/throughput-<utc time>.json)"
    )
    parser.add_argument("--serve-echo", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    choice = args.mode_choice or "want_next"
    args.modes = ["want_next", "two_calls"] if choice == "both" else [choice]
    if args.quick:
        args.items, args.judgment_seconds, args.echo_seconds, args.million_items = 20_000, 30.0, 10.0, 0
        args.ratio_pairs, args.ratio_seconds = 2, 5.0
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_echo:
        asyncio.run(serve_echo())
        return 0
    res = asyncio.run(run(args))
    text = table(res)
    print()
    print(text)
    path = args.out or RESULTS / f"throughput-{time.strftime('%Y-%m-%dT%H%M%SZ', time.gmtime())}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    res["table"] = text.splitlines()
    path.write_text(json.dumps(res, indent=2, default=str) + "\n")
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
