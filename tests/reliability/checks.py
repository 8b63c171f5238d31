"""Checks of the ledger's state during and after a workload.

``FeedFollower`` reads the ledger store's change feed from sequence 0 as a
subscriber would, across restarts of the store, and checks that sequences
are contiguous and that no request_id is posted twice. ``final_checks``
runs once the clients have stopped and compares every response the
clients received with what the ledger holds.
"""

from __future__ import annotations

import collections
import random
import threading
import time

import grpc

from bank.accounts.v1 import account_service_pb2 as acc
from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import ledger_store_pb2_grpc as store_grpc
from bank.ledger.v1 import resources_pb2 as pb
from bank.transactions.v1 import transaction_service_pb2 as txn
from tests.reliability.workload import (
    CHANNEL_OPTIONS,
    RETRYABLE,
    Caller,
    Figures,
    Posting,
    Workload,
    check_statement_chain,
    read_statement,
)


class FeedFollower:
    """Follows WatchChanges from sequence 0 and checks what arrives."""

    def __init__(self, address: str, figures: Figures):
        self._channel = grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
        self._stub = store_grpc.LedgerStoreServiceStub(self._channel)
        self._figures = figures
        self.last_sequence = 0
        self.reconnects = 0
        self.transactions: dict[str, list[pb.Transaction]] = collections.defaultdict(
            list
        )
        """Posted transactions by description, which the workload sets to the
        request_id."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._stream = None
        self._thread = threading.Thread(target=self._run, name="feed", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        stream = self._stream
        if stream is not None:
            stream.cancel()
        self._thread.join()
        self._channel.close()

    def wait_for(self, sequence: int, timeout: float) -> bool:
        """Wait until events up to ``sequence`` have arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.last_sequence >= sequence:
                return True
            time.sleep(0.05)
        return False

    def postings_of(self, request_id: str) -> list[pb.Transaction]:
        with self._lock:
            return list(self.transactions.get(request_id, ()))

    def _run(self) -> None:
        while not self._stop.is_set():
            request = store.WatchChangesRequest(after_sequence=self.last_sequence)
            self._stream = self._stub.WatchChanges(request, wait_for_ready=True)
            try:
                for message in self._stream:
                    for event in message.events:
                        self._apply(event)
            except grpc.RpcError as error:
                self._stream_failed(error)
            self.reconnects += 1
            time.sleep(0.1)

    def _stream_failed(self, error: grpc.RpcError) -> None:
        code = error.code()
        if code == grpc.StatusCode.CANCELLED and self._stop.is_set():
            return
        if code in RETRYABLE:
            return
        if code == grpc.StatusCode.OUT_OF_RANGE:
            self._figures.violation(
                f"the change feed rejected resuming after sequence "
                f"{self.last_sequence}, which it had delivered: {error.details()}"
            )
            self._stop.set()
            return
        self._figures.violation(
            f"the change feed failed with {code.name}: {error.details()}"
        )

    def _apply(self, event: pb.ChangeEvent) -> None:
        if event.sequence != self.last_sequence + 1:
            kind = "repeated" if event.sequence <= self.last_sequence else "skipped"
            self._figures.violation(
                f"the change feed {kind} sequences: event {event.sequence} came "
                f"after {self.last_sequence}"
            )
        self.last_sequence = max(self.last_sequence, event.sequence)
        self._figures.add("feed events checked")
        if event.HasField("transaction"):
            self._check_transaction(event.transaction)

    def _check_transaction(self, transaction: pb.Transaction) -> None:
        totals: collections.Counter[str] = collections.Counter()
        for entry in transaction.entries:
            totals[entry.amount.currency_code] += entry.amount.minor_units
        if len(transaction.entries) < 2 or any(totals.values()):
            self._figures.violation(
                f"transaction {transaction.transaction_id} arrived partial or "
                f"unbalanced: {len(transaction.entries)} entries, sums {dict(totals)}"
            )
        with self._lock:
            found = self.transactions[transaction.description]
            found.append(transaction)
        if len(found) > 1:
            self._figures.violation(
                f"request {transaction.description} was posted {len(found)} times: "
                f"transactions {[t.transaction_id for t in found]}"
            )


def run_audit(workload: Workload, caller: Caller, when: str) -> bool:
    """Run RunAudit; note each violation; return whether the audit ran."""
    response, error = caller.call(
        "ledger",
        workload.clients.ledger.RunAudit,
        store.RunAuditRequest(),
        attempts=3,
    )
    if response is None:
        workload.figures.violation(f"the audit {when} did not run: {error}")
        return False
    workload.figures.add("audits run")
    for violation in response.violations:
        workload.figures.violation(f"audit {when}: {violation.message}")
    if response.truncated:
        workload.figures.violation(f"audit {when}: more violations than listed")
    return True


def ledger_latest(workload: Workload, caller: Caller) -> int:
    response, error = caller.call(
        "ledger", workload.clients.ledger.GetLedgerInfo, store.GetLedgerInfoRequest()
    )
    if response is None:
        raise RuntimeError(f"GetLedgerInfo failed: {error}")
    return response.latest_sequence


def wait_for_services(
    workload: Workload, caller: Caller, sequence: int, timeout: float, when: str
) -> None:
    """Both front services must apply the feed up to ``sequence`` in time."""
    stubs = {
        "accounts": (
            workload.clients.accounts.GetServiceStatus,
            acc.GetServiceStatusRequest(),
        ),
        "transactions": (
            workload.clients.transactions.GetServiceStatus,
            txn.GetServiceStatusRequest(),
        ),
    }
    deadline = time.monotonic() + timeout
    for name, (method, request) in stubs.items():
        applied = -1
        while time.monotonic() < deadline:
            response, _ = caller.call(name, method, request, attempts=1)
            if response is not None:
                applied = response.applied_sequence
                if applied >= sequence and response.feed_connected:
                    break
            time.sleep(0.1)
        else:
            workload.figures.violation(
                f"{when}: the {name} service applied the change feed up to "
                f"{applied}, not {sequence}, within {timeout:.0f} s"
            )


def check_view_matches_ledger(
    workload: Workload, caller: Caller, account_id: int, when: str
) -> None:
    """Compare an account in the account service's view with the ledger store.

    Writes go on meanwhile, so the view must show at least the state the
    store had just before, and exactly that state if nothing changed since.
    """
    clients = workload.clients
    first, _ = caller.call(
        "ledger",
        clients.ledger.GetAccount,
        store.GetAccountRequest(account_id=account_id),
    )
    if first is None:
        return
    sequence = first.account.change_sequence
    request = acc.GetAccountRequest(account_id=account_id, min_sequence=sequence)
    view, _ = caller.call("accounts", clients.accounts.GetAccount, request)
    second, _ = caller.call(
        "ledger",
        clients.ledger.GetAccount,
        store.GetAccountRequest(account_id=account_id),
    )
    if view is None or second is None:
        return
    workload.figures.add("views compared with the ledger")
    shown = view.account
    if shown.change_sequence < sequence:
        workload.figures.violation(
            f"{when}: the account service shows account {account_id} at sequence "
            f"{shown.change_sequence}, older than the store's {sequence}"
        )
    if shown.change_sequence > second.account.change_sequence:
        workload.figures.violation(
            f"{when}: the account service shows account {account_id} at sequence "
            f"{shown.change_sequence}, newer than the store's "
            f"{second.account.change_sequence}"
        )
    same = shown.change_sequence == second.account.change_sequence
    if same and shown != second.account:
        workload.figures.violation(
            f"{when}: account {account_id} at sequence {shown.change_sequence} "
            "differs between the account service and the ledger store"
        )


def final_checks(workload: Workload, follower: FeedFollower) -> None:
    """Check the quiet ledger against every response the clients received."""
    caller = Caller(workload.figures, workload.options, random.Random(0))
    latest = ledger_latest(workload, caller)
    if not follower.wait_for(latest, 60):
        workload.figures.violation(
            f"the change feed reached only sequence {follower.last_sequence} of "
            f"{latest}"
        )
    _resolve_unknown(workload, caller, follower)
    latest = ledger_latest(workload, caller)
    follower.wait_for(latest, 60)
    _check_postings(workload, caller, follower)
    _check_balances_and_statements(workload, caller)
    wait_for_services(workload, caller, latest, 30, "at the end")
    for account in workload.book.accounts:
        check_view_matches_ledger(workload, caller, account.account_id, "at the end")
    run_audit(workload, caller, "at the end")


def _resolve_unknown(
    workload: Workload, caller: Caller, follower: FeedFollower
) -> None:
    """Retry each posting of unknown outcome with its request_id."""
    for posting in workload.book.with_outcome("unknown"):
        present = follower.postings_of(posting.request_id)
        if len(present) > 1:
            continue  # Already reported by the follower.
        workload.resolve(caller, posting, attempts=8)
        workload.figures.add("unknown outcomes resolved")
        if posting.outcome == "acknowledged" and present:
            if present[0].transaction_id != posting.transaction.transaction_id:
                workload.figures.violation(
                    f"retrying {posting.request_id} returned transaction "
                    f"{posting.transaction.transaction_id}, but it had been posted as "
                    f"{present[0].transaction_id}"
                )
        if posting.outcome == "rejected" and present:
            workload.figures.violation(
                f"retrying {posting.request_id} was rejected with {posting.reason}, "
                f"but it had been posted as transaction {present[0].transaction_id}"
            )
        if posting.outcome == "unknown":
            workload.figures.violation(
                f"{posting.request_id} still has no answer after the final retries"
            )


def _check_not_recorded(workload: Workload, caller: Caller, posting: Posting) -> None:
    """The ledger store holds no idempotency record of a rejected posting."""
    request = store.GetRequestOutcomeRequest(request_id=posting.request_id)
    response, error = caller.call(
        "ledger", workload.clients.ledger.GetRequestOutcome, request
    )
    if response is None:
        workload.figures.violation(
            f"GetRequestOutcome of {posting.request_id} failed: {error}"
        )
    elif response.recorded:
        workload.figures.violation(
            f"{posting.request_id}, rejected with {posting.reason}, is recorded as "
            f"committed by {response.method} at sequence {response.commit_sequence}"
        )
    else:
        workload.figures.add("rejected postings confirmed absent")


def _check_postings(workload: Workload, caller: Caller, follower: FeedFollower) -> None:
    """Acknowledged postings exactly once as acknowledged; rejected ones absent."""
    for posting in workload.book.with_outcome("acknowledged"):
        found = follower.postings_of(posting.request_id)
        if len(found) != 1:
            workload.figures.violation(
                f"acknowledged {posting.request_id} is in the ledger {len(found)} "
                "times instead of once"
            )
        elif found[0] != posting.transaction:
            workload.figures.violation(
                f"acknowledged {posting.request_id} is in the ledger as a different "
                f"transaction: {found[0].transaction_id}"
            )
    for posting in workload.book.with_outcome("rejected"):
        found = follower.postings_of(posting.request_id)
        if found:
            workload.figures.violation(
                f"{posting.request_id}, rejected with {posting.reason}, is in the "
                f"ledger as transaction {found[0].transaction_id}"
            )
        _check_not_recorded(workload, caller, posting)
    workload.figures.add(
        "postings checked in the change feed", len(workload.book.postings)
    )


def _check_balances_and_statements(workload: Workload, caller: Caller) -> None:
    expected = workload.book.expected_balances()
    entries: collections.Counter[int] = collections.Counter()
    by_request: dict[str, Posting] = {}
    for posting in workload.book.acknowledged():
        by_request[posting.request_id] = posting
        for entry in posting.transaction.entries:
            entries[entry.account_id] += 1
    response, error = caller.call(
        "ledger",
        workload.clients.ledger.ListAccounts,
        store.ListAccountsRequest(page_size=1000),
    )
    if response is None:
        workload.figures.violation(f"listing the accounts at the end failed: {error}")
        return
    totals: collections.Counter[str] = collections.Counter()
    for account in response.accounts:
        totals[account.currency_code] += account.balance.minor_units
        balance = account.balance.minor_units
        want = expected.get(account.account_id, 0)
        if balance != want:
            workload.figures.violation(
                f"account {account.account_id} ends at {balance}, but the "
                f"acknowledged postings add up to {want}"
            )
        if account.HasField("overdraft_limit"):
            if balance < -account.overdraft_limit.minor_units:
                workload.figures.violation(
                    f"account {account.account_id} ends at {balance}, beyond its "
                    f"overdraft limit of {account.overdraft_limit.minor_units}"
                )
    for currency, total in totals.items():
        if total:
            workload.figures.violation(f"balances in {currency} end at {total}, not 0")
    for account in workload.book.accounts:
        _check_final_statement(workload, caller, account.account_id, expected, entries)


def _check_final_statement(workload, caller, account_id, expected, entries) -> None:
    lines, error = read_statement(caller, workload.clients, account_id, 5)
    if lines is None:
        workload.figures.violation(
            f"the statement of account {account_id} could not be read: {error}"
        )
        return
    workload.figures.add("final statements checked")
    check_statement_chain(workload.figures, account_id, lines)
    last = lines[-1].balance_after.minor_units if lines else 0
    if last != expected.get(account_id, 0):
        workload.figures.violation(
            f"the statement of account {account_id} ends at {last}, but the "
            f"acknowledged postings add up to {expected.get(account_id, 0)}"
        )
    if len(lines) != entries[account_id]:
        workload.figures.violation(
            f"the statement of account {account_id} has {len(lines)} lines, but "
            f"{entries[account_id]} acknowledged entries touch it"
        )


def print_figures(title: str, workload: Workload, extra: dict[str, object]) -> None:
    figures = workload.figures
    print(f"\n{title}")
    for name, value in extra.items():
        print(f"  {name:<44} {value}")
    for name, value in sorted(figures.counts.items()):
        print(f"  {name:<44} {value}")
    print("  rejections by reason:")
    for reason, count in sorted(figures.rejections.items()):
        print(f"    {reason:<42} {count}")
    print(f"  {'violations found':<44} {len(figures.violations)}")
    for message in figures.violations[:30]:
        print(f"    - {message}")
    if len(figures.violations) > 30:
        print(f"    ... and {len(figures.violations) - 30} more")
