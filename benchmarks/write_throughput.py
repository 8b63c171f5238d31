"""Transfer throughput and latency through the transaction service.

Starts the three services on free loopback ports with a fresh DuckDB file,
opens the accounts, then for each concurrency level runs that many clients
that each post transfers back to back for a fixed time. Every transfer is
one gRPC call to the transaction service, which calls the ledger store,
whose single writer commits waiting requests together.

    python -m benchmarks.write_throughput
    python -m benchmarks.write_throughput --concurrency 1 16 64 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from pathlib import Path

import grpc

from bank.ledger.v1 import resources_pb2 as pb
from bank.transactions.v1 import transaction_service_pb2 as txn
from bank.transactions.v1 import transaction_service_pb2_grpc as txn_grpc
from bank_common.stack import LocalStack
from benchmarks.feed_latency import open_accounts


async def run_level(
    address: str, accounts: list[int], concurrency: int, duration: float
) -> tuple[int, list[float]]:
    """Post transfers from ``concurrency`` clients; return (count, latencies)."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = txn_grpc.TransactionServiceStub(channel)
        latencies: list[float] = []
        stop_at = time.monotonic() + duration

        async def client(seed: int) -> None:
            rng = random.Random(seed)
            while time.monotonic() < stop_at:
                source, destination = rng.sample(accounts, 2)
                request = txn.TransferRequest(
                    request_id=uuid.uuid4().hex,
                    from_account_id=source,
                    to_account_id=destination,
                    amount=pb.Money(
                        currency_code="CZK", minor_units=rng.randint(1, 100)
                    ),
                )
                started = time.perf_counter()
                await stub.Transfer(request, timeout=30)
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(client(seed) for seed in range(concurrency)))
        return len(latencies), latencies


def percentile_ms(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * (len(ordered) - 1)))] * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--concurrency",
        type=int,
        nargs="+",
        default=[1, 8, 32, 64],
        help="clients posting at once, one run per value (default 1 8 32 64)",
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds per run (default 10)"
    )
    parser.add_argument(
        "--accounts", type=int, default=50, help="accounts to move money between"
    )
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="write-throughput-"))
    quiet = ["--log-level", "WARNING"]
    stack = LocalStack(
        db_path=folder / "ledger.duckdb",
        log_dir=folder / "logs",
        extra_args={name: quiet for name in ("ledger", "accounts", "transactions")},
    )
    stack.start_all()
    try:
        accounts = asyncio.run(open_accounts(stack, args.accounts))
        address = stack.ports.address("transactions")
        print("clients  transfers/s  p50 ms  p99 ms")
        for concurrency in args.concurrency:
            count, latencies = asyncio.run(
                run_level(address, accounts, concurrency, args.duration)
            )
            print(
                f"{concurrency:7d}  {count / args.duration:11.0f}  "
                f"{percentile_ms(latencies, 0.5):6.1f}  "
                f"{percentile_ms(latencies, 0.99):6.1f}",
                flush=True,
            )
    finally:
        stack.stop_all()


if __name__ == "__main__":
    main()
