"""Sending an import plan to the ledger through the public APIs.

Every write carries a request_id made from the source id, such as
"berka:trans:695247". A second run sends the same requests, and for each id
it has seen the ledger returns the first result and posts nothing again.
That makes a rerun change nothing, and it lets a run that was killed
continue: what committed is replayed, the rest is posted.

Customers are created first, then the accounts. Each account is opened and
gets its transactions, in posting order, on one worker thread, while up to
``workers`` accounts load at once. Accounts are independent: the data set
has no transfers between two of its own accounts.
"""

from __future__ import annotations

import calendar
import concurrent.futures
import datetime as dt
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import grpc
from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from bank.accounts.v1 import account_service_pb2 as accounts_api
from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import resources_pb2 as pb
from bank.transactions.v1 import transaction_service_pb2 as transactions_api
from bank_common.validation import REQUEST_ID_MAX
from bankctl.berka.plan import AccountPlan, ImportPlan, Posting
from bankctl.berka.records import PAYMENT_KINDS, Client
from bankctl.connection import Services, describe_error, is_transient

CURRENCY = "CZK"
_SEX = {"FEMALE": pb.SEX_FEMALE, "MALE": pb.SEX_MALE}
_ROLE = {"OWNER": pb.HOLDER_ROLE_OWNER, "AUTHORIZED": pb.HOLDER_ROLE_AUTHORIZED}

# Retries of a call that timed out or found a service unreachable, with
# back-off from 0.2 s doubling to at most 5 s: about 26 s of waiting in all,
# plus the time of the calls themselves.
RETRIES = 9
MAX_BACKOFF = 5.0


# The longest suffix that References adds to the prefix is ":customer:"
# and a source id. NOTE: the room left assumes source ids of at most 19
# digits, as many as 2**63 - 1 has; a longer id fails its row at the ledger.
_MAX_SUFFIX = len(":customer:") + len(str(2**63 - 1))
MAX_PREFIX = REQUEST_ID_MAX - _MAX_SUFFIX
# The ledger's rule for request ids: printable ASCII without spaces. It also
# keeps external references clear of the trimming and control characters
# that the ledger rejects or changes in text fields.
_PREFIX = re.compile(r"[\x21-\x7e]+")


def check_prefix(prefix: str) -> str:
    """Return ``prefix`` if every request id and reference made from it is valid.

    Raises ValueError naming the fix for an empty prefix, a character the
    ledger rejects in request ids, or one longer than MAX_PREFIX.
    """
    if not prefix:
        raise ValueError(
            "the prefix is empty: give one such as berka, which makes references "
            "such as berka:2378"
        )
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(
            f"the prefix {prefix!r} is invalid: use printable ASCII characters "
            "without spaces, such as berka2"
        )
    if len(prefix) > MAX_PREFIX:
        raise ValueError(
            f"the prefix has {len(prefix)} characters: shorten it to at most "
            f"{MAX_PREFIX}, so that request ids such as PREFIX:customer:ID stay "
            f"within the ledger's limit of {REQUEST_ID_MAX}"
        )
    return prefix


@dataclass(frozen=True)
class References:
    """External references and request ids of the imported records.

    References are "<prefix>:<source id>", e.g. "berka:2378" for account
    2378. Request ids add the kind of record, because request ids are unique
    across all requests: "berka:account:2378".
    """

    prefix: str = "berka"

    def external(self, source_id: int) -> str:
        return f"{self.prefix}:{source_id}"

    def request(self, record: str, source_id: int) -> str:
        return f"{self.prefix}:{record}:{source_id}"


@dataclass
class Tally:
    """Records of one kind that are in the ledger after the run."""

    done: int = 0
    new: int = 0
    """Of ``done``, those this run added; the rest were there before."""


@dataclass
class LoadResult:
    customers: Tally = field(default_factory=Tally)
    accounts: Tally = field(default_factory=Tally)
    transactions: Tally = field(default_factory=Tally)
    failures: list[str] = field(default_factory=list)
    """Rows the ledger rejected, as "folder/file:line: reason"."""
    accounts_held_back: int = 0
    """Accounts not opened because the ledger rejected them or a holder."""
    transactions_held_back: int = 0
    """Rows not sent because the ledger rejected their account or an earlier row."""
    accounts_checked: int = 0
    balance_mismatches: list[tuple[str, int, int]] = field(default_factory=list)
    """(external_ref, bank's balance, ledger's balance) in haléř."""
    phase_seconds: dict[str, float] = field(default_factory=dict)
    """Wall-clock seconds of each step: customers, accounts, balance check."""


class LoadInterrupted(Exception):
    """The services could not be reached; what committed stays, and a rerun resumes."""


@dataclass
class _Opened:
    """An account opened (or found opened) by this run."""

    plan: AccountPlan
    account_id: int
    sequence: int
    """Commit sequence of the account's last write, to read it at least that new."""
    complete: bool = False
    """Whether every row of the account was posted, so its balance can be checked."""


class _Stopped(Exception):
    """Raised in worker threads once the run is stopping."""


def customer_request(client: Client, region: str, refs: References) -> Message:
    """Build the CreateCustomer request of one client.

    The data set has no names, so the full name is a neutral label made from
    the source id.
    """
    customer = pb.Customer(
        full_name=f"Berka client {client.client_id}",
        birth_date=client.birth_date.isoformat(),
        sex=_SEX[client.sex],
        region=region,
        external_ref=refs.external(client.client_id),
    )
    return accounts_api.CreateCustomerRequest(
        request_id=refs.request("customer", client.client_id), customer=customer
    )


def account_request(
    plan: AccountPlan, customer_ids: dict[int, int], refs: References
) -> Message:
    """Build the OpenAccount request, opened at midnight UTC of its original date."""
    opened = plan.account.opened
    account = pb.Account(
        currency_code=CURRENCY,
        type=pb.ACCOUNT_TYPE_CHECKING,
        holders=[
            pb.AccountHolder(customer_id=customer_ids[client_id], role=_ROLE[role])
            for client_id, role in plan.holders
        ],
        external_ref=refs.external(plan.account.account_id),
        open_time=_midnight_utc(opened),
    )
    return accounts_api.OpenAccountRequest(
        request_id=refs.request("account", plan.account.account_id), account=account
    )


def transaction_request(posting: Posting, account_id: int, refs: References) -> Message:
    """Build the ImportTransaction request of one row.

    The amount is the movement of the bank's balance, and the purpose code
    (k_symbol) becomes the description.
    """
    row = posting.trans
    request = transactions_api.ImportTransactionRequest(
        request_id=refs.request("trans", row.trans_id),
        kind=pb.TransactionKind.Value(f"TRANSACTION_KIND_{row.kind}"),
        account_id=account_id,
        amount=pb.Money(currency_code=CURRENCY, minor_units=posting.amount),
        description=row.k_symbol,
        value_date=row.date.isoformat(),
        external_ref=refs.external(row.trans_id),
    )
    if row.kind in PAYMENT_KINDS:
        request.counterparty.bank_code = row.bank
        request.counterparty.account_number = row.account
    return request


def _midnight_utc(day: dt.date) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=calendar.timegm(day.timetuple()))


class Loader:
    """Sends one plan to the services; ``run`` may be called once."""

    def __init__(
        self,
        services: Services,
        plan: ImportPlan,
        *,
        refs: References,
        workers: int,
        on_progress: Callable[[int], None] = lambda count: None,
    ):
        self._services = services
        self._plan = plan
        self._refs = refs
        self._workers = workers
        self._on_progress = on_progress
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._fatal: str | None = None
        self._start_sequence = 0
        self._customer_ids: dict[int, int] = {}
        self._opened: dict[str, _Opened] = {}
        self.result = LoadResult()

    def run(self) -> LoadResult:
        """Create, open and post everything in the plan, then check the balances.

        Raises LoadInterrupted when a service stays unreachable, and
        KeyboardInterrupt on Ctrl-C once the calls in flight have finished.
        """
        self._run_all([self._note_start_sequence])
        regions = self._plan.regions
        self._run_phase(
            "customers",
            (
                lambda client=client: self._create_customer(
                    client, regions[client.district_id]
                )
                for client in self._plan.customers
            ),
        )
        by_size = sorted(self._plan.accounts, key=lambda a: -len(a.postings))
        self._run_phase(
            "accounts", (lambda plan=plan: self._load_account(plan) for plan in by_size)
        )
        self._run_phase(
            "balance check",
            (
                lambda ref=ref, opened=opened: self._check_balance(ref, opened)
                for ref, opened in sorted(self._opened.items())
                if opened.complete and not opened.plan.transactions_held_back
            ),
        )
        self.result.balance_mismatches.sort()
        return self.result

    def _run_phase(self, name: str, tasks: Iterable[Callable[[], None]]) -> None:
        started = time.monotonic()
        self._run_all(tasks)
        self.result.phase_seconds[name] = round(time.monotonic() - started, 2)

    def _run_all(self, tasks: Iterable[Callable[[], None]]) -> None:
        executor = concurrent.futures.ThreadPoolExecutor(self._workers)
        try:
            futures = [executor.submit(task) for task in tasks]
            for future in concurrent.futures.as_completed(futures):
                try:
                    future.result()
                except _Stopped:
                    pass
        except BaseException:
            self._stop.set()
            raise
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
        if self._fatal is not None:
            raise LoadInterrupted(self._fatal)

    def _note_start_sequence(self) -> None:
        """Note the ledger's latest sequence: later commits are this run's own."""
        request = store.GetLedgerInfoRequest()
        info = self._call(self._services.ledger.GetLedgerInfo, request)
        self._start_sequence = info.latest_sequence

    def _create_customer(self, client: Client, region: str) -> None:
        request = customer_request(client, region, self._refs)
        response = self._write(
            self._services.accounts.CreateCustomer, request, "client.asc", client.line
        )
        if response is not None:
            with self._lock:
                self._customer_ids[client.client_id] = response.customer.customer_id
            self._tally(self.result.customers, response.commit_sequence)
        self._on_progress(1)

    def _load_account(self, plan: AccountPlan) -> None:
        rows = len(plan.postings)
        missing = [c for c, _ in plan.holders if c not in self._customer_ids]
        if missing:
            self._fail(
                "account.asc",
                plan.account.line,
                f"account {plan.account.account_id} not opened: its holder client "
                f"{missing[0]} was not created",
            )
            self._hold_back(accounts=1, transactions=rows)
            self._on_progress(1 + rows)
            return
        request = account_request(plan, self._customer_ids, self._refs)
        response = self._write(
            self._services.accounts.OpenAccount,
            request,
            "account.asc",
            plan.account.line,
        )
        self._on_progress(1)
        if response is None:
            self._hold_back(accounts=1, transactions=rows)
            self._on_progress(rows)
            return
        self._tally(self.result.accounts, response.commit_sequence)
        opened = _Opened(plan, response.account.account_id, response.commit_sequence)
        with self._lock:
            self._opened[request.account.external_ref] = opened
        self._post_all(opened)

    def _post_all(self, opened: _Opened) -> None:
        """Post the account's rows in order; stop at the first one rejected."""
        plan = opened.plan
        for index, posting in enumerate(plan.postings):
            request = transaction_request(posting, opened.account_id, self._refs)
            response = self._write(
                self._services.transactions.ImportTransaction,
                request,
                "trans.asc",
                posting.trans.line,
                later_rows=len(plan.postings) - index - 1,
            )
            self._on_progress(1)
            if response is None:
                later_rows = len(plan.postings) - index - 1
                self._hold_back(accounts=0, transactions=later_rows)
                self._on_progress(later_rows)
                return
            self._tally(self.result.transactions, response.commit_sequence)
            opened.sequence = max(opened.sequence, response.commit_sequence)
        opened.complete = True

    def _check_balance(self, external_ref: str, opened: _Opened) -> None:
        """Compare the balance the account service reports with the bank's."""
        request = accounts_api.GetAccountRequest(
            account_id=opened.account_id, min_sequence=opened.sequence
        )
        try:
            account = self._call(self._services.accounts.GetAccount, request).account
        except grpc.RpcError as error:
            line = opened.plan.account.line
            self._fail("account.asc", line, f"balance check: {describe_error(error)}")
            return
        expected = opened.plan.final_balance
        with self._lock:
            self.result.accounts_checked += 1
            if account.balance.minor_units != expected:
                self.result.balance_mismatches.append(
                    (external_ref, expected, account.balance.minor_units)
                )

    def _write(
        self, method, request: Message, file: str, line: int, later_rows: int = 0
    ) -> Message | None:
        """Send one write; on rejection record the row and return None."""
        try:
            return self._call(method, request)
        except grpc.RpcError as error:
            reason = f"rejected by the ledger: {describe_error(error)}"
            if later_rows == 1:
                reason += "; the account's 1 later row was not posted"
            elif later_rows:
                reason += f"; the account's {later_rows} later rows were not posted"
            self._fail(file, line, reason)
            return None

    def _call(self, method, request: Message):
        """Call with retries while the service is unreachable or the call times out.

        Retrying a write is safe because its request_id makes the ledger
        apply it at most once. When the retries run out, the whole run stops.
        """
        delay = 0.2
        for attempt in range(RETRIES + 1):
            if self._stop.is_set():
                raise _Stopped
            try:
                return method(request, timeout=self._services.timeout)
            except grpc.RpcError as error:
                if not is_transient(error):
                    raise
                if attempt == RETRIES:
                    self._halt(error)
                    raise _Stopped from error
            time.sleep(delay)
            delay = min(MAX_BACKOFF, delay * 2)
        raise AssertionError("unreachable")

    def _halt(self, error: grpc.RpcError) -> None:
        with self._lock:
            if self._fatal is None:
                self._fatal = (
                    f"{describe_error(error)}, still after {RETRIES} retries; what "
                    "committed so far stays, and running the same command again "
                    "continues from there"
                )
        self._stop.set()

    def _fail(self, file: str, line: int, reason: str) -> None:
        with self._lock:
            self.result.failures.append(f"{self._plan.folder / file}:{line}: {reason}")

    def _hold_back(self, *, accounts: int, transactions: int) -> None:
        with self._lock:
            self.result.accounts_held_back += accounts
            self.result.transactions_held_back += transactions

    def _tally(self, tally: Tally, commit_sequence: int) -> None:
        with self._lock:
            tally.done += 1
            if commit_sequence > self._start_sequence:
                tally.new += 1
