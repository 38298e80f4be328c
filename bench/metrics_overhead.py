"""What counting and timing every call costs: the call interceptor
(`server/transport/grpc/calls.py`) with the RPC metrics (`server/transport/grpc/rpc_metrics.py`)
against the same interceptor without them, on the cheapest call there is (a
generic echo handler, bytes in and out), so that the difference is the
metrics' whole cost and not lost in the server's own work.

Both servers run in this process with the client, one after the other in
alternating rounds; CPU time per call (`time.process_time`, client and server
together) is compared within each pair of rounds, and the median of the pairs
is reported, so other work on a shared machine moves both sides alike.

Not part of the tests: `python bench/metrics_overhead.py [--calls N --rounds R]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import grpc

from labelwire.server.transport.grpc.calls import CallInterceptor

METHOD = "/bench.Echo/Echo"


def _echo_handler() -> grpc.GenericRpcHandler:
    async def echo(request: bytes, context: Any) -> bytes:
        return request

    handler = grpc.unary_unary_rpc_method_handler(echo)
    return grpc.method_handlers_generic_handler("bench.Echo", {"Echo": handler})


async def _server(interceptors: list[Any]) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server(interceptors=interceptors)
    server.add_generic_rpc_handlers((_echo_handler(),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


async def _round(port: int, calls: int, concurrency: int) -> float:
    """CPU seconds per call for `calls` echo calls, `concurrency` at a time."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        echo = channel.unary_unary(METHOD)
        await echo(b"warm")
        left = calls

        async def caller() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                await echo(b"x" * 32)

        started = time.process_time()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        return (time.process_time() - started) / calls


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5000, help="calls per round (default 5000)")
    parser.add_argument("--rounds", type=int, default=6, help="pairs of rounds (default 6)")
    parser.add_argument("--concurrency", type=int, default=16, help="calls in flight (default 16)")
    args = parser.parse_args()
    bare, bare_port = await _server([CallInterceptor(metrics=False)])
    measured, measured_port = await _server([CallInterceptor()])
    ratios, extra_us = [], []
    try:
        for n in range(args.rounds):
            first, second = (bare_port, measured_port) if n % 2 == 0 else (measured_port, bare_port)
            a = await _round(first, args.calls, args.concurrency)
            b = await _round(second, args.calls, args.concurrency)
            without, with_ = (a, b) if first == bare_port else (b, a)
            ratios.append(with_ / without)
            extra_us.append((with_ - without) * 1e6)
            print(
                f"round {n + 1}: {without * 1e6:7.1f} us/call without metrics, {with_ * 1e6:7.1f} us/call with"
            )
    finally:
        await bare.stop(None)
        await measured.stop(None)
    print(
        f"median over {args.rounds} pairs: CPU per call x{statistics.median(ratios):.3f} with the metrics,"
        f" +{statistics.median(extra_us):.1f} us per call (client and server together)"
    )


if __name__ == "__main__":
    asyncio.run(main())
