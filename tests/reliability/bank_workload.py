"""The bank workload: concurrent postings and reads, then every check.

Run it with ``make bank-test`` (60 s) or
``python -m tests.reliability.bank_workload --duration 10``. It starts the
three services on free loopback ports with a fresh DuckDB file in a
temporary folder, prints its figures and exits with status 1 when it found
any violation.
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from bank_common.stack import LocalStack
from tests.reliability.checks import (
    FeedFollower,
    final_checks,
    print_figures,
    run_audit,
)
from tests.reliability.workload import Caller, Options, Workload


def add_workload_arguments(parser: argparse.ArgumentParser, duration: float) -> None:
    defaults = Options()
    parser.add_argument(
        "--duration",
        type=float,
        default=duration,
        help=f"seconds of load (default {duration:g})",
    )
    parser.add_argument(
        "--clients",
        type=int,
        default=defaults.clients,
        help=f"writer threads (default {defaults.clients})",
    )
    parser.add_argument(
        "--readers",
        type=int,
        default=defaults.readers,
        help=f"reader threads (default {defaults.readers})",
    )
    parser.add_argument(
        "--accounts",
        type=int,
        default=defaults.accounts,
        help=f"customer accounts (default {defaults.accounts})",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="random seed (default: random)"
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary folder with the database and service logs",
    )


def options_from(args: argparse.Namespace) -> Options:
    seed = args.seed if args.seed is not None else random.randrange(1, 10**6)
    return Options(
        duration=args.duration,
        clients=args.clients,
        readers=args.readers,
        accounts=args.accounts,
        seed=seed,
    )


def start_stack(folder: Path) -> LocalStack:
    stack = LocalStack(db_path=folder / "ledger.duckdb", log_dir=folder / "logs")
    stack.start_all()
    return stack


def run(options: Options, folder: Path) -> Workload:
    """Run the workload for ``options.duration`` seconds and check everything."""
    stack = start_stack(folder)
    workload = Workload(stack, options, f"bank-{uuid.uuid4().hex[:8]}")
    follower = FeedFollower(stack.ports.address("ledger"), workload.figures)
    try:
        follower.start()
        workload.setup()
        workload.start()
        started = time.monotonic()
        caller = Caller(workload.figures, options, random.Random(options.seed))
        # One audit in the middle of the load: it must see a consistent
        # snapshot while the writer commits.
        time.sleep(options.duration / 2)
        run_audit(workload, caller, "during the load")
        time.sleep(max(0.0, started + options.duration - time.monotonic()))
        workload.join()
        final_checks(workload, follower)
    finally:
        workload.stop.set()
        follower.stop()
        workload.clients.close()
        stack.stop_all()
    return workload


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bank-workload",
        description="Concurrent transfers, deposits and withdrawals with balance "
        "and statement reads, checked for lost or created money.",
    )
    add_workload_arguments(parser, duration=60.0)
    args = parser.parse_args(argv)
    # SIGTERM (from timeout, or Ctrl-C in make) ends the run through the
    # finally blocks, which stop the services.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    options = options_from(args)
    folder = Path(tempfile.mkdtemp(prefix="bank-workload-"))
    started = time.monotonic()
    try:
        workload = run(options, folder)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print_figures(
        "bank workload",
        workload,
        {
            "seed": options.seed,
            "clients / readers / accounts": (
                f"{options.clients} / {options.readers} / {options.accounts}"
            ),
            "load seconds": f"{options.duration:g}",
            "wall seconds": f"{time.monotonic() - started:.1f}",
        },
    )
    if args.keep:
        print(f"  database and logs kept in {folder}")
    return 1 if workload.figures.violations else 0


if __name__ == "__main__":
    sys.exit(main())
