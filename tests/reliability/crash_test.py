"""The crash test: the bank workload while services are killed with SIGKILL.

Run it with ``make crash-test`` or
``python -m tests.reliability.crash_test --ledger-kills 3``. While writer
and reader clients run, the ledger store is killed at random moments and
restarted, and so is each of the two front services. Clients retry with
the same request_id. After every restart the test checks that no
acknowledged posting was lost, the change log is contiguous, the audit is
clean and both front services caught up with the feed. At the end it runs
every check of the bank workload. It exits with status 1 on any violation.
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
from dataclasses import dataclass
from pathlib import Path

from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import resources_pb2 as pb
from tests.reliability.bank_workload import (
    add_workload_arguments,
    options_from,
    start_stack,
)
from tests.reliability.checks import (
    FeedFollower,
    check_view_matches_ledger,
    final_checks,
    ledger_latest,
    print_figures,
    run_audit,
    wait_for_services,
)
from tests.reliability.workload import RETRYABLE, Caller, Options, Workload

# Seconds to wait for the feeds to catch up after a restart.
CATCH_UP_TIMEOUT = 30.0


def read_transactions(ledger, after: int, up_to: int) -> dict[str, pb.Transaction]:
    """Read the transactions in the change log from ``after`` up to ``up_to``.

    Returns them by description, which the workload sets to the request_id.
    """
    found: dict[str, pb.Transaction] = {}
    if up_to <= after:
        return found
    stream = ledger.WatchChanges(
        store.WatchChangesRequest(after_sequence=after), timeout=120
    )
    try:
        for message in stream:
            for event in message.events:
                if event.HasField("transaction"):
                    found[event.transaction.description] = event.transaction
            if message.events and message.events[-1].sequence >= up_to:
                break
    finally:
        stream.cancel()
    return found


@dataclass(frozen=True)
class Faults:
    """Which processes to kill, how often and how far apart."""

    ledger_kills: int = 20
    front_kills: int = 2
    """Kills of each front service."""
    min_gap: float = 0.5
    max_gap: float = 2.5
    """Seconds of load between one restart and the next kill, drawn uniformly."""


class Chaos:
    """Kills and restarts services, checking the ledger after each restart."""

    def __init__(self, workload: Workload, follower: FeedFollower, rng):
        self.workload = workload
        self.follower = follower
        self.rng = rng
        self.stack = workload.stack
        self.figures = workload.figures
        self.caller = Caller(workload.figures, workload.options, rng)
        self._checked: set[str] = set()

    def run(self, faults: Faults) -> None:
        targets = ["ledger"] * faults.ledger_kills
        targets += ["accounts", "transactions"] * faults.front_kills
        self.rng.shuffle(targets)
        for number, target in enumerate(targets, start=1):
            time.sleep(self.rng.uniform(faults.min_gap, faults.max_gap))
            when = f"after kill {number} ({target})"
            started = time.monotonic()
            if target == "ledger":
                self.kill_ledger(when)
            else:
                self.kill_front(target, when)
            print(
                f"kill {number}/{len(targets)} of {target}: restarted and checked "
                f"in {time.monotonic() - started:.1f} s",
                file=sys.stderr,
                flush=True,
            )

    def _restart(self, service: str) -> tuple[float, float]:
        killed_at = time.monotonic()
        self.stack.stop(service, kill=True)
        self.figures.add(f"kill -9 of {service}")
        time.sleep(self.rng.uniform(0.0, 0.3))
        self.stack.start(service, timeout=60)
        restarted_at = time.monotonic()
        print(
            f"  {service} back after {restarted_at - killed_at:.1f} s",
            file=sys.stderr,
            flush=True,
        )
        return killed_at, restarted_at

    def kill_ledger(self, when: str) -> None:
        self._restart("ledger")
        acknowledged = self.workload.book.acknowledged()
        latest = ledger_latest(self.workload, self.caller)
        newest = max((p.transaction.change_sequence for p in acknowledged), default=0)
        if latest < newest:
            self.figures.violation(
                f"{when}: the ledger restarted at sequence {latest}, before the "
                f"acknowledged commit at {newest}"
            )
        self._check_acknowledged(acknowledged, when)
        if not self.follower.wait_for(latest, CATCH_UP_TIMEOUT):
            self.figures.violation(
                f"{when}: the change feed resumed only up to "
                f"{self.follower.last_sequence}, not {latest}"
            )
        run_audit(self.workload, self.caller, when)
        # Writes went on since the restart, so catching up to the sequence
        # now shows that both services resumed their feeds.
        self._check_services(ledger_latest(self.workload, self.caller), when)

    def _check_acknowledged(self, acknowledged, when: str) -> None:
        """Every posting acknowledged before the kill is in the restarted ledger.

        The postings not checked yet are looked up in the change log read back
        from the restarted store, which commits each transaction together with
        its event. One stream replaces thousands of GetTransaction calls.
        """
        pending = [p for p in acknowledged if p.request_id not in self._checked]
        if not pending:
            return
        sequences = [p.transaction.change_sequence for p in pending]
        found = read_transactions(
            self.workload.clients.ledger, min(sequences) - 1, max(sequences)
        )
        for posting in pending:
            stored = found.get(posting.request_id)
            if stored != posting.transaction:
                self.figures.violation(
                    f"{when}: acknowledged {posting.request_id} (transaction "
                    f"{posting.transaction.transaction_id}) is "
                    f"{'changed' if stored else 'missing'} in the restarted ledger"
                )
            self._checked.add(posting.request_id)
        self.figures.add("acknowledged postings checked after a restart", len(pending))

    def kill_front(self, service: str, when: str) -> None:
        killed_at, restarted_at = self._restart(service)
        time.sleep(1.0)
        errors = self.figures.errors_between(service, killed_at, restarted_at + 1.0)
        self.figures.add(f"client errors around kills of {service}", len(errors))
        unexpected = [code.name for code in errors if code not in RETRYABLE]
        if unexpected:
            self.figures.violation(
                f"{when}: clients of the {service} service got {unexpected}, not "
                "UNAVAILABLE"
            )
        in_flight = self.workload.options.readers
        if service == "transactions":
            in_flight += self.workload.options.clients
        if len(errors) > in_flight:
            self.figures.violation(
                f"{when}: clients of the {service} service saw {len(errors)} errors, "
                f"but at most {in_flight} calls were in flight"
            )
        self._check_services(ledger_latest(self.workload, self.caller), when)

    def _check_services(self, latest: int, when: str) -> None:
        wait_for_services(self.workload, self.caller, latest, CATCH_UP_TIMEOUT, when)
        for account in self.rng.sample(self.workload.book.accounts, 3):
            check_view_matches_ledger(
                self.workload, self.caller, account.account_id, when
            )


def run(options: Options, faults: Faults, folder: Path) -> Workload:
    stack = start_stack(folder)
    workload = Workload(stack, options, f"crash-{uuid.uuid4().hex[:8]}")
    follower = FeedFollower(stack.ports.address("ledger"), workload.figures)
    try:
        follower.start()
        workload.setup()
        workload.start()
        Chaos(workload, follower, random.Random(options.seed)).run(faults)
        time.sleep(1.0)
        workload.join()
        final_checks(workload, follower)
        workload.figures.add("feed reconnects", follower.reconnects)
    finally:
        workload.stop.set()
        follower.stop()
        workload.clients.close()
        stack.stop_all()
    return workload


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="crash-test",
        description="The bank workload while the ledger store and the front "
        "services are killed with SIGKILL and restarted.",
    )
    add_workload_arguments(parser, duration=0.0)
    defaults = Faults()
    parser.add_argument(
        "--ledger-kills",
        type=int,
        default=defaults.ledger_kills,
        help=f"kills of the ledger store (default {defaults.ledger_kills})",
    )
    parser.add_argument(
        "--front-kills",
        type=int,
        default=defaults.front_kills,
        help=f"kills of each front service (default {defaults.front_kills})",
    )
    parser.add_argument(
        "--max-gap",
        type=float,
        default=defaults.max_gap,
        help="most seconds of load between a restart and the next kill "
        f"(default {defaults.max_gap:g})",
    )
    args = parser.parse_args(argv)
    # SIGTERM (from timeout, or Ctrl-C in make) ends the run through the
    # finally blocks, which stop the services.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    options = options_from(args)
    faults = Faults(
        ledger_kills=args.ledger_kills,
        front_kills=args.front_kills,
        max_gap=max(args.max_gap, defaults.min_gap),
    )
    folder = Path(tempfile.mkdtemp(prefix="crash-test-"))
    started = time.monotonic()
    try:
        workload = run(options, faults, folder)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print_figures(
        "crash test",
        workload,
        {
            "seed": options.seed,
            "clients / readers / accounts": (
                f"{options.clients} / {options.readers} / {options.accounts}"
            ),
            "wall seconds": f"{time.monotonic() - started:.1f}",
        },
    )
    if args.keep:
        print(f"  database and logs kept in {folder}")
    return 1 if workload.figures.violations else 0


if __name__ == "__main__":
    sys.exit(main())
