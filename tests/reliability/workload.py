"""A Jepsen-style bank workload against the three services on loopback.

Writer clients post random deposits, withdrawals and transfers through the
transaction service while reader clients read every balance and statement.
Each client retries a call that failed with UNAVAILABLE or DEADLINE_EXCEEDED
with the same request, request_id included, so a posting is made at most
once whatever fails. A posting counts as acknowledged only once a response
arrived; one that never got a response is "unknown" until the final check
retries it with the same request_id.

Every posting's description is its request_id, which is how the checks
find a posting in statements and in the change feed. Money is int minor
units throughout.
"""

from __future__ import annotations

import collections
import itertools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc
from google.protobuf.message import Message

from bank.accounts.v1 import account_service_pb2 as acc
from bank.accounts.v1 import account_service_pb2_grpc as acc_grpc
from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import ledger_store_pb2_grpc as store_grpc
from bank.ledger.v1 import resources_pb2 as pb
from bank.transactions.v1 import transaction_service_pb2 as txn
from bank.transactions.v1 import transaction_service_pb2_grpc as txn_grpc
from bank_common import status
from bank_common.stack import LocalStack

RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
# Codes no API of the ledger documents: each one is a violation.
UNDOCUMENTED = frozenset({grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL})

CHANNEL_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
)


@dataclass(frozen=True)
class Options:
    """Size and pace of the workload."""

    duration: float = 60.0
    """Seconds the clients run; the crash test stops them itself."""
    clients: int = 16
    """Writer threads posting through the transaction service."""
    readers: int = 4
    """Reader threads reading balances and statements."""
    accounts: int = 50
    """Customer accounts; every fifth one is in EUR, the others in CZK."""
    seed: int = 1
    attempts: int = 12
    """Calls per operation before its outcome counts as unknown."""
    attempt_timeout: float = 5.0
    """Deadline of one call, in seconds."""


@dataclass
class Posting:
    """One deposit, withdrawal or transfer and what became of it."""

    request_id: str
    method: str
    request: Message
    outcome: str = "pending"
    """"acknowledged", "rejected" or "unknown"."""
    reason: str = ""
    """ErrorInfo reason of a rejection."""
    transaction: pb.Transaction | None = None
    acknowledged_at: float = 0.0


class Figures:
    """Counters and violations shared by every thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: collections.Counter[str] = collections.Counter()
        self.rejections: collections.Counter[str] = collections.Counter()
        self.errors: list[tuple[float, str, grpc.StatusCode]] = []
        self.violations: list[str] = []

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self.counts[name] += amount

    def reject(self, reason: str) -> None:
        with self._lock:
            self.rejections[reason] += 1

    def error(self, service: str, code: grpc.StatusCode) -> None:
        """Note a call that failed in transport or with an undocumented status."""
        with self._lock:
            self.errors.append((time.monotonic(), service, code))

    def violation(self, message: str) -> None:
        with self._lock:
            self.violations.append(message)

    def errors_between(self, service: str, start: float, end: float) -> list:
        with self._lock:
            return [
                code
                for when, name, code in self.errors
                if name == service and start <= when <= end
            ]


class Clients:
    """Channels and stubs of the three services, reconnecting on their own."""

    def __init__(self, stack: LocalStack):
        self.stack = stack
        self._channels = {
            name: grpc.insecure_channel(
                stack.ports.address(name), options=CHANNEL_OPTIONS
            )
            for name in ("ledger", "accounts", "transactions")
        }
        self.ledger = store_grpc.LedgerStoreServiceStub(self._channels["ledger"])
        self.accounts = acc_grpc.AccountServiceStub(self._channels["accounts"])
        self.transactions = txn_grpc.TransactionServiceStub(
            self._channels["transactions"]
        )

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()


class Caller:
    """Calls with retries on UNAVAILABLE and DEADLINE_EXCEEDED, noting errors."""

    def __init__(self, figures: Figures, options: Options, rng: random.Random):
        self._figures = figures
        self._options = options
        self._rng = rng

    def call(
        self,
        service: str,
        method: Callable,
        request: Message,
        *,
        attempts: int | None = None,
    ) -> tuple[Message | None, grpc.RpcError | None]:
        """Return (response, None), (None, final error) or (None, None) if unknown."""
        attempts = attempts or self._options.attempts
        backoff = 0.05
        for attempt in range(attempts):
            try:
                response = method(
                    request, timeout=self._options.attempt_timeout, wait_for_ready=True
                )
                return response, None
            except grpc.RpcError as error:
                code = error.code()
                if code in RETRYABLE or not reason_of(error):
                    # Failures of the call itself, not rejections by the ledger's rules.
                    self._figures.error(service, code)
                if code not in RETRYABLE:
                    return None, error
                if attempt + 1 < attempts:
                    self._figures.add("retries with the same request")
            time.sleep(backoff * (0.5 + self._rng.random()))
            backoff = min(1.0, backoff * 2)
        return None, None


def reason_of(error: grpc.RpcError) -> str:
    domain_error = status.error_from_rpc_error(error)
    return domain_error.reason if domain_error is not None else ""


@dataclass
class Account:
    account_id: int
    currency: str
    overdraft: int
    """Overdraft limit in minor units."""


@dataclass
class Book:
    """What the clients know: accounts, postings and their outcomes."""

    accounts: list[Account] = field(default_factory=list)
    bank_accounts: dict[int, str] = field(default_factory=dict)
    """The bank's own account ids and their currencies."""
    postings: dict[str, Posting] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, posting: Posting) -> None:
        with self.lock:
            self.postings[posting.request_id] = posting

    def acknowledged(self) -> list[Posting]:
        with self.lock:
            return [p for p in self.postings.values() if p.outcome == "acknowledged"]

    def with_outcome(self, outcome: str) -> list[Posting]:
        with self.lock:
            return [p for p in self.postings.values() if p.outcome == outcome]

    def expected_balances(self) -> dict[int, int]:
        """Sum the entries of every acknowledged posting per account."""
        balances: collections.Counter[int] = collections.Counter()
        for posting in self.acknowledged():
            for entry in posting.transaction.entries:
                balances[entry.account_id] += entry.amount.minor_units
        return balances


def check_response(
    figures: Figures, service: str, what: str, error: grpc.RpcError
) -> str:
    """Classify a final error; return its reason, noting undocumented statuses."""
    code = error.code()
    reason = reason_of(error)
    if code in UNDOCUMENTED:
        figures.violation(
            f"{service} answered {what} with {code.name}: {error.details()}"
        )
    elif not reason:
        figures.violation(
            f"{service} answered {what} with {code.name} but no ErrorInfo reason: "
            f"{error.details()}"
        )
    return reason or code.name


class Workload:
    """Sets up the accounts, then runs writer and reader threads until stopped."""

    def __init__(self, stack: LocalStack, options: Options, run_id: str):
        self.stack = stack
        self.options = options
        self.run_id = run_id
        self.figures = Figures()
        self.book = Book()
        self.clients = Clients(stack)
        self.stop = threading.Event()
        self._threads: list[threading.Thread] = []
        # next() on a count is atomic in CPython, so writer threads share it.
        self._request_numbers = itertools.count(1)

    # Set-up.

    def setup(self) -> None:
        rng = random.Random(self.options.seed)
        caller = Caller(self.figures, self.options, rng)
        owners = [self._create_customer(caller, index) for index in range(10)]
        for index in range(self.options.accounts):
            currency = "EUR" if index % 5 == 4 else "CZK"
            overdraft = rng.choice((0, 0, 5_000, 20_000))
            account = self._open_account(
                caller, index, rng.choice(owners), currency, overdraft
            )
            self.book.accounts.append(account)
        self._find_bank_accounts(caller)
        for account in self.book.accounts:
            self.post_deposit(caller, account, rng.randint(10_000, 100_000), "seed")

    def _create_customer(self, caller: Caller, index: int) -> int:
        request = acc.CreateCustomerRequest(
            request_id=f"{self.run_id}-customer-{index}",
            customer=pb.Customer(full_name=f"Workload Customer {index}"),
        )
        response, error = caller.call(
            "accounts", self.clients.accounts.CreateCustomer, request
        )
        if response is None:
            raise RuntimeError(f"creating a customer failed: {error}")
        return response.customer.customer_id

    def _open_account(
        self, caller: Caller, index: int, owner: int, currency: str, overdraft: int
    ) -> Account:
        request = acc.OpenAccountRequest(
            request_id=f"{self.run_id}-account-{index}",
            account=pb.Account(
                currency_code=currency,
                type=pb.ACCOUNT_TYPE_CHECKING,
                overdraft_limit=pb.Money(currency_code=currency, minor_units=overdraft),
                holders=[
                    pb.AccountHolder(customer_id=owner, role=pb.HOLDER_ROLE_OWNER)
                ],
            ),
        )
        response, error = caller.call(
            "accounts", self.clients.accounts.OpenAccount, request
        )
        if response is None:
            raise RuntimeError(f"opening an account failed: {error}")
        return Account(response.account.account_id, currency, overdraft)

    def _find_bank_accounts(self, caller: Caller) -> None:
        request = store.ListAccountsRequest(page_size=1000)
        response, error = caller.call(
            "ledger", self.clients.ledger.ListAccounts, request
        )
        if response is None:
            raise RuntimeError(f"listing accounts failed: {error}")
        for account in response.accounts:
            if account.type == pb.ACCOUNT_TYPE_INTERNAL:
                self.book.bank_accounts[account.account_id] = account.currency_code

    # Postings.

    def post_deposit(
        self, caller: Caller, account: Account, amount: int, tag: str
    ) -> Posting:
        request_id = self._next_request_id(tag)
        request = txn.DepositRequest(
            request_id=request_id,
            account_id=account.account_id,
            amount=pb.Money(currency_code=account.currency, minor_units=amount),
            description=request_id,
        )
        return self._post(caller, "Deposit", request)

    def post_withdrawal(
        self, caller: Caller, account: Account, amount: int, tag: str
    ) -> Posting:
        request_id = self._next_request_id(tag)
        request = txn.WithdrawRequest(
            request_id=request_id,
            account_id=account.account_id,
            amount=pb.Money(currency_code=account.currency, minor_units=amount),
            description=request_id,
        )
        return self._post(caller, "Withdraw", request)

    def post_transfer(
        self, caller: Caller, source: Account, destination: Account, amount: int, tag
    ) -> Posting:
        request_id = self._next_request_id(tag)
        request = txn.TransferRequest(
            request_id=request_id,
            from_account_id=source.account_id,
            to_account_id=destination.account_id,
            amount=pb.Money(currency_code=source.currency, minor_units=amount),
            description=request_id,
        )
        return self._post(caller, "Transfer", request)

    def _next_request_id(self, tag: str) -> str:
        return f"{self.run_id}-{tag}-{next(self._request_numbers)}"

    def _post(self, caller: Caller, method: str, request: Message) -> Posting:
        posting = Posting(request.request_id, method, request)
        self.book.add(posting)
        self.figures.add(f"posted {method}")
        self.resolve(caller, posting)
        return posting

    def resolve(self, caller: Caller, posting: Posting, attempts: int = 0) -> None:
        """Send the posting (again) and record its outcome."""
        stub_method = getattr(self.clients.transactions, posting.method)
        response, error = caller.call(
            "transactions", stub_method, posting.request, attempts=attempts or None
        )
        if response is not None:
            posting.outcome = "acknowledged"
            posting.transaction = response.transaction
            posting.acknowledged_at = time.monotonic()
            self.figures.add("acknowledged")
        elif error is not None:
            posting.outcome = "rejected"
            posting.reason = check_response(
                self.figures, "transaction service", posting.method, error
            )
            self.figures.reject(posting.reason)
        else:
            posting.outcome = "unknown"
            self.figures.add("unknown outcome")

    # Threads.

    def start(self) -> None:
        for index in range(self.options.clients):
            self._spawn(f"writer-{index}", self._write_loop, index)
        for index in range(self.options.readers):
            self._spawn(f"reader-{index}", self._read_loop, index)

    def _spawn(self, name: str, target, index: int) -> None:
        thread = threading.Thread(target=target, args=(index,), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def join(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join()

    def _write_loop(self, index: int) -> None:
        rng = random.Random(self.options.seed * 1000 + index)
        caller = Caller(self.figures, self.options, rng)
        while not self.stop.is_set():
            self._random_posting(caller, rng)

    def _random_posting(self, caller: Caller, rng: random.Random) -> None:
        accounts = self.book.accounts
        source = rng.choice(accounts)
        # Mostly small amounts, sometimes more than most accounts hold.
        amount = rng.choice(
            (rng.randint(1, 5_000), rng.randint(1, 50_000), rng.randint(1, 200_000))
        )
        roll = rng.random()
        if roll < 0.2:
            self.post_deposit(caller, source, amount, "deposit")
        elif roll < 0.4:
            self.post_withdrawal(caller, source, amount, "withdraw")
        else:
            destination = rng.choice(accounts)
            if roll < 0.99:
                # Mostly the same currency; the rest must fail CURRENCY_MISMATCH
                # or SAME_ACCOUNT.
                while destination.currency != source.currency or destination is source:
                    destination = rng.choice(accounts)
            self.post_transfer(caller, source, destination, amount, "transfer")

    def _read_loop(self, index: int) -> None:
        rng = random.Random(self.options.seed * 2000 + index)
        caller = Caller(self.figures, self.options, rng)
        reader = Reader(self, caller, rng)
        while not self.stop.is_set():
            reader.read_once()
            time.sleep(0.02)


class Reader:
    """One reader client: balances, statements and acknowledged postings."""

    def __init__(self, workload: Workload, caller: Caller, rng: random.Random):
        self.workload = workload
        self.figures = workload.figures
        self.clients = workload.clients
        self.caller = caller
        self.rng = rng
        self._seen_sequence: dict[int, int] = {}

    def read_once(self) -> None:
        self.check_balances()
        self.check_view_account(self.rng.choice(self.workload.book.accounts))
        self.check_statement(self.rng.choice(self.workload.book.accounts))
        self.check_acknowledged_posting()

    def check_balances(self) -> None:
        """Read every balance in one snapshot: money conserved, limits held."""
        request = acc.ListAccountsRequest(page_size=1000)
        response, error = self.caller.call(
            "accounts", self.clients.accounts.ListAccounts, request, attempts=1
        )
        if response is None:
            self._read_failed("ListAccounts", error)
            return
        self.figures.add("balance snapshots read")
        totals: collections.Counter[str] = collections.Counter()
        for account in response.accounts:
            totals[account.currency_code] += account.balance.minor_units
            self._check_limit(account, "ListAccounts")
        for currency, total in totals.items():
            if total:
                self.figures.violation(
                    f"balances in {currency} sum to {total} in one ListAccounts "
                    "snapshot instead of 0"
                )

    def _check_limit(self, account: pb.Account, source: str) -> None:
        if not account.HasField("overdraft_limit"):
            return
        floor = -account.overdraft_limit.minor_units
        if account.balance.minor_units < floor:
            self.figures.violation(
                f"{source} shows account {account.account_id} at "
                f"{account.balance.minor_units}, below its floor of {floor}"
            )

    def check_view_account(self, account: Account) -> None:
        """Read an account from the account service's view; it never goes back."""
        request = acc.GetAccountRequest(account_id=account.account_id)
        response, error = self.caller.call(
            "accounts", self.clients.accounts.GetAccount, request, attempts=1
        )
        if response is None:
            self._read_failed("GetAccount", error)
            return
        self.figures.add("view accounts read")
        state = response.account
        self._check_limit(state, "the account service's view")
        previous = self._seen_sequence.get(account.account_id, 0)
        if state.change_sequence < previous:
            self.figures.violation(
                f"the account service returned account {account.account_id} at "
                f"sequence {state.change_sequence} after sequence {previous}"
            )
        self._seen_sequence[account.account_id] = max(previous, state.change_sequence)

    def check_statement(self, account: Account) -> None:
        """Check a statement's running balance against the balance around it."""
        before = self._ledger_account(account.account_id)
        lines = self._statement(account.account_id)
        after = self._ledger_account(account.account_id)
        if before is None or lines is None or after is None:
            return
        self.figures.add("statements read")
        check_statement_chain(self.figures, account.account_id, lines)
        balances = {0} | {line.balance_after.minor_units for line in lines}
        if before.balance.minor_units not in balances:
            self.figures.violation(
                f"account {account.account_id} had balance "
                f"{before.balance.minor_units} before its statement was read, "
                "but no statement line ends at that balance"
            )
        if before.change_sequence == after.change_sequence:
            self.figures.add("statements checked against a still balance")
            last = lines[-1].balance_after.minor_units if lines else 0
            if last != after.balance.minor_units:
                self.figures.violation(
                    f"the statement of account {account.account_id} ends at {last} "
                    f"but its balance is {after.balance.minor_units}"
                )

    def _ledger_account(self, account_id: int) -> pb.Account | None:
        request = store.GetAccountRequest(account_id=account_id)
        response, error = self.caller.call(
            "ledger", self.clients.ledger.GetAccount, request, attempts=1
        )
        if response is None:
            self._read_failed("GetAccount", error)
            return None
        return response.account

    def _statement(self, account_id: int) -> list[pb.StatementLine] | None:
        lines, error = read_statement(self.caller, self.clients, account_id, 1)
        if error is not None or lines is None:
            self._read_failed("ListStatement", error)
        return lines

    def check_acknowledged_posting(self) -> None:
        """Read back an acknowledged posting: it must be there as acknowledged."""
        acknowledged = self.workload.book.acknowledged()
        if not acknowledged:
            return
        posting = self.rng.choice(acknowledged)
        request = txn.GetTransactionRequest(
            transaction_id=posting.transaction.transaction_id
        )
        response, error = self.caller.call(
            "transactions",
            self.clients.transactions.GetTransaction,
            request,
            attempts=1,
        )
        if response is None:
            self._read_failed("GetTransaction", error)
            return
        self.figures.add("acknowledged postings read back")
        if response.transaction != posting.transaction:
            self.figures.violation(
                f"transaction {posting.transaction.transaction_id} "
                f"({posting.request_id}) reads back different from its "
                "acknowledgement"
            )

    def _read_failed(self, method: str, error: grpc.RpcError | None) -> None:
        self.figures.add("reads failed")
        if error is not None and error.code() not in RETRYABLE:
            check_response(self.figures, "a service", method, error)


def read_statement(
    caller: Caller, clients: Clients, account_id: int, attempts: int
) -> tuple[list[pb.StatementLine] | None, grpc.RpcError | None]:
    """Read an account's whole statement through the transaction service."""
    lines: list[pb.StatementLine] = []
    token = ""
    while True:
        request = txn.ListStatementRequest(
            account_id=account_id, page_size=1000, page_token=token
        )
        response, error = caller.call(
            "transactions",
            clients.transactions.ListStatement,
            request,
            attempts=attempts,
        )
        if response is None:
            return None, error
        lines.extend(response.lines)
        token = response.next_page_token
        if not token:
            return lines, None


def check_statement_chain(
    figures: Figures, account_id: int, lines: list[pb.StatementLine]
) -> None:
    """Each line's balance_after is the previous one plus its amount, from 0."""
    balance = 0
    previous_entry = 0
    for line in lines:
        balance += line.amount.minor_units
        if line.balance_after.minor_units != balance:
            figures.violation(
                f"statement of account {account_id}: entry {line.entry_id} shows "
                f"balance {line.balance_after.minor_units}, but the lines up to it "
                f"sum to {balance}"
            )
            return
        if line.entry_id <= previous_entry:
            figures.violation(
                f"statement of account {account_id}: entry {line.entry_id} comes "
                f"after entry {previous_entry}"
            )
            return
        previous_entry = line.entry_id
