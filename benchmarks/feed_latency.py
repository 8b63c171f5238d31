"""Commit-to-subscriber latency of the change feed while transfers run.

Starts the three services on free loopback ports with a fresh DuckDB file,
opens the accounts, then runs transfers through the transaction service at
a fixed rate while N subscribers, in a separate process, follow the ledger
store's WatchChanges stream. For every event a subscriber receives, the
latency is its arrival time minus the event's commit_time (stamped inside
the committing transaction). Events committed during the warm-up are not
counted.

    python -m benchmarks.feed_latency --subscribers 1
    python -m benchmarks.feed_latency --subscribers 50
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import grpc

from bank.accounts.v1 import account_service_pb2 as acc
from bank.accounts.v1 import account_service_pb2_grpc as acc_grpc
from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import ledger_store_pb2_grpc as store_grpc
from bank.ledger.v1 import resources_pb2 as pb
from bank.transactions.v1 import transaction_service_pb2 as txn
from bank.transactions.v1 import transaction_service_pb2_grpc as txn_grpc
from bank_common.stack import LocalStack


def _now_us() -> int:
    return time.time_ns() // 1000


async def _subscribe(
    address: str,
    count: int,
    measure_from_us: int,
    stop_at: float,
    ready: multiprocessing.Event,
) -> list[list[int]]:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = store_grpc.LedgerStoreServiceStub(channel)
        latencies: list[list[int]] = [[] for _ in range(count)]
        opened = 0

        async def follow(index: int) -> None:
            nonlocal opened
            stream = stub.WatchChanges(store.WatchChangesRequest())
            first = True
            try:
                async for message in stream:
                    if first:
                        first = False
                        opened += 1
                        if opened == count:
                            ready.set()
                    if time.monotonic() > stop_at:
                        return
                    arrived = _now_us()
                    for event in message.events:
                        committed = (
                            event.commit_time.seconds * 1_000_000
                            + event.commit_time.nanos // 1000
                        )
                        if committed >= measure_from_us:
                            latencies[index].append(arrived - committed)
            finally:
                stream.cancel()

        await asyncio.gather(*(follow(i) for i in range(count)))
        return latencies


def _subscriber_process(address, count, measure_from_us, duration, ready, results):
    stop_at = time.monotonic() + duration
    latencies = asyncio.run(_subscribe(address, count, measure_from_us, stop_at, ready))
    results.put(latencies)


async def open_accounts(stack: LocalStack, count: int) -> list[int]:
    async with (
        grpc.aio.insecure_channel(stack.ports.address("accounts")) as accounts,
        grpc.aio.insecure_channel(stack.ports.address("transactions")) as transactions,
    ):
        account_stub = acc_grpc.AccountServiceStub(accounts)
        txn_stub = txn_grpc.TransactionServiceStub(transactions)
        customer = await account_stub.CreateCustomer(
            acc.CreateCustomerRequest(
                request_id=uuid.uuid4().hex, customer=pb.Customer(full_name="Benchmark")
            )
        )
        ids = []
        for _ in range(count):
            opened = await account_stub.OpenAccount(
                acc.OpenAccountRequest(
                    request_id=uuid.uuid4().hex,
                    account=pb.Account(
                        currency_code="CZK",
                        type=pb.ACCOUNT_TYPE_CHECKING,
                        holders=[
                            pb.AccountHolder(
                                customer_id=customer.customer.customer_id,
                                role=pb.HOLDER_ROLE_OWNER,
                            )
                        ],
                    ),
                )
            )
            ids.append(opened.account.account_id)
            await txn_stub.Deposit(
                txn.DepositRequest(
                    request_id=uuid.uuid4().hex,
                    account_id=opened.account.account_id,
                    amount=pb.Money(currency_code="CZK", minor_units=10**9),
                )
            )
        return ids


async def _run_transfers(
    address: str, accounts: list[int], rate: float, duration: float
) -> int:
    """Post transfers at ``rate`` per second for ``duration`` seconds."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = txn_grpc.TransactionServiceStub(channel)
        rng = random.Random(7)
        pending: set[asyncio.Task] = set()
        started = time.monotonic()
        sent = 0
        while time.monotonic() - started < duration:
            due = int((time.monotonic() - started) * rate)
            while sent < due:
                source, destination = rng.sample(accounts, 2)
                request = txn.TransferRequest(
                    request_id=uuid.uuid4().hex,
                    from_account_id=source,
                    to_account_id=destination,
                    amount=pb.Money(
                        currency_code="CZK", minor_units=rng.randint(1, 1000)
                    ),
                )
                task = asyncio.ensure_future(stub.Transfer(request, timeout=30))
                pending.add(task)
                task.add_done_callback(pending.discard)
                sent += 1
            await asyncio.sleep(0.002)
        for task in list(pending):
            await task
        return sent


def _percentile(values: list[int], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))
    return ordered[index] / 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--subscribers",
        type=int,
        default=1,
        help="WatchChanges streams to open (default 1)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=100.0,
        help="transfers per second to post (default 100)",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=20.0,
        help="seconds of measured load (default 20)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=3.0,
        help="seconds of load before measuring (default 3)",
    )
    parser.add_argument(
        "--accounts",
        type=int,
        default=20,
        help="accounts that transfers move money between (default 20)",
    )
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="feed-latency-"))
    stack = LocalStack(
        db_path=folder / "ledger.duckdb",
        log_dir=folder / "logs",
        extra_args={
            name: ["--log-level", "WARNING"]
            for name in ("ledger", "accounts", "transactions")
        },
    )
    stack.start_all()
    try:
        accounts = asyncio.run(open_accounts(stack, args.accounts))
        context = multiprocessing.get_context("spawn")
        ready = context.Event()
        results = context.Queue()
        measure_from = _now_us() + int(args.warmup * 1_000_000)
        total = args.warmup + args.duration
        subscriber = context.Process(
            target=_subscriber_process,
            args=(
                stack.ports.address("ledger"),
                args.subscribers,
                measure_from,
                total + 2,
                ready,
                results,
            ),
        )
        subscriber.start()
        if not ready.wait(30):
            raise TimeoutError("subscribers did not open their streams in 30s")
        started = time.monotonic()
        posted = asyncio.run(
            _run_transfers(
                stack.ports.address("transactions"), accounts, args.rate, total
            )
        )
        elapsed = time.monotonic() - started
        latencies = results.get(timeout=60)
        subscriber.join(30)
    finally:
        stack.stop_all()

    merged = [value for per_stream in latencies for value in per_stream]
    counts = [len(per_stream) for per_stream in latencies]
    print(f"subscribers            {args.subscribers}")
    print(
        f"transfers posted       {posted} in {elapsed:.1f}s "
        f"({posted / elapsed:.0f}/s, target {args.rate:.0f}/s)"
    )
    print(
        f"events per subscriber  min {min(counts)}, max {max(counts)} (after warm-up)"
    )
    print(f"latency p50            {_percentile(merged, 0.50):.2f} ms")
    print(f"latency p99            {_percentile(merged, 0.99):.2f} ms")
    print(f"latency max            {max(merged) / 1000:.2f} ms")
    print(f"latency mean           {statistics.fmean(merged) / 1000:.2f} ms")


if __name__ == "__main__":
    main()
