"""gRPC entrypoint of the transaction processing API.

Each posting becomes one PostTransaction call to the ledger store, which
checks every rule again inside the writing transaction and is the
authority. Before the call, the service checks the request and the accounts
against its live view. When the view shows an account frozen, closed or in
another currency, two reads of the store confirm it: the request id's
outcome and the accounts' current state. The service then rejects with the
error the store would give, without taking a place in its writer queue.
"""

from __future__ import annotations

import asyncio
import logging
import random

import grpc
from prometheus_client import Counter

from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import resources_pb2 as pb
from bank.transactions.v1 import transaction_service_pb2 as api
from bank.transactions.v1 import transaction_service_pb2_grpc as api_grpc
from bank_common import account_rules, errors, validation
from bank_common.feed_consumer import FeedConsumer
from bank_common.forwarding import forward
from bank_common.ledger_client import LedgerClient
from bank_common.postings import Posting, validate_posting

log = logging.getLogger(__name__)

EARLY_REJECTIONS = Counter(
    "transaction_early_rejections_total",
    "Postings rejected from the account view without calling the ledger store.",
    ["reason"],
)

_STATUS_NAME = {
    pb.ACCOUNT_STATUS_ACTIVE: "ACTIVE",
    pb.ACCOUNT_STATUS_FROZEN: "FROZEN",
    pb.ACCOUNT_STATUS_CLOSED: "CLOSED",
}
_IMPORT_KINDS = frozenset(
    {
        pb.TRANSACTION_KIND_DEPOSIT,
        pb.TRANSACTION_KIND_WITHDRAWAL,
        pb.TRANSACTION_KIND_INCOMING_PAYMENT,
        pb.TRANSACTION_KIND_OUTGOING_PAYMENT,
        pb.TRANSACTION_KIND_INTEREST,
        pb.TRANSACTION_KIND_FEE,
    }
)


class TransactionServicer(api_grpc.TransactionServiceServicer):
    def __init__(
        self,
        ledger: LedgerClient,
        feed: FeedConsumer,
        closing: asyncio.Event,
        *,
        read_wait: float,
    ):
        self._ledger = ledger
        self._feed = feed
        self._closing = closing
        self._read_wait = read_wait

    async def Deposit(self, request, context):
        kind = pb.TRANSACTION_KIND_DEPOSIT
        if request.HasField("counterparty"):
            kind = pb.TRANSACTION_KIND_INCOMING_PAYMENT
        response = await self._post(
            _posting(request, kind), request.min_sequence, context
        )
        return forward(response, api.DepositResponse)

    async def Withdraw(self, request, context):
        kind = pb.TRANSACTION_KIND_WITHDRAWAL
        if request.HasField("counterparty"):
            kind = pb.TRANSACTION_KIND_OUTGOING_PAYMENT
        response = await self._post(
            _posting(request, kind), request.min_sequence, context
        )
        return forward(response, api.WithdrawResponse)

    async def Transfer(self, request, context):
        _check_transfer_ids(request)
        posting = store.PostTransactionRequest(
            request_id=request.request_id,
            kind=pb.TRANSACTION_KIND_TRANSFER,
            account_id=request.from_account_id,
            counter_account_id=request.to_account_id,
            description=request.description,
        )
        _copy_amount(request, posting)
        response = await self._post(posting, request.min_sequence, context)
        return forward(response, api.TransferResponse)

    async def ImportTransaction(self, request, context):
        if request.kind not in _IMPORT_KINDS:
            raise errors.InvalidArgument(
                f"kind {validation.enum_name(pb.TransactionKind, request.kind)} cannot "
                "be imported: use DEPOSIT, WITHDRAWAL, INCOMING_PAYMENT, "
                "OUTGOING_PAYMENT, INTEREST or FEE",
                field="kind",
                reason="INVALID_ENUM",
            )
        posting = store.PostTransactionRequest(
            request_id=request.request_id,
            kind=request.kind,
            account_id=request.account_id,
            description=request.description,
            counterparty=request.counterparty,
            value_date=request.value_date,
            external_ref=request.external_ref,
            imported=True,
        )
        _copy_amount(request, posting)
        response = await self._ledger.call("PostTransaction", posting, context)
        return forward(response, api.ImportTransactionResponse)

    async def ReverseTransaction(self, request, context):
        response = await self._ledger.call(
            "ReverseTransaction",
            forward(request, store.ReverseTransactionRequest),
            context,
        )
        return forward(response, api.ReverseTransactionResponse)

    async def _post(self, posting, min_sequence: int, context):
        """Reject from the view what the ledger store would reject, else post."""
        if min_sequence:
            await self._feed.reach(min_sequence, self._read_wait)
        await self._reject_early(posting, context)
        return await self._ledger.call("PostTransaction", posting, context)

    async def _reject_early(self, posting, context) -> None:
        """Raise the error the ledger store would give, when the view shows it.

        The checks run in the ledger store's order: the request's fields,
        then each account's status and currency. When the view shows a
        rejection, two reads of the store confirm it first. The first asks
        whether the request id already has a result, which a retry must get.
        The second reads the accounts' current state, because the view may
        not have applied a change yet. Neither read takes a place in the
        store's writer queue.
        """
        currencies = self._feed.currencies
        if not currencies:
            return
        validation.request_id(posting.request_id)
        checked = validate_posting(posting, currencies)
        try:
            _check_accounts(checked, self._feed.view.get)
        except errors.FailedPrecondition:
            if await self._already_recorded(posting.request_id, context):
                return
            current = await self._current_accounts(checked, context)
            try:
                _check_accounts(checked, current.get)
            except errors.FailedPrecondition as rejection:
                EARLY_REJECTIONS.labels(rejection.reason).inc()
                raise

    async def _already_recorded(self, request_id: str, context) -> bool:
        outcome = await self._ledger.call(
            "GetRequestOutcome",
            store.GetRequestOutcomeRequest(request_id=request_id),
            context,
        )
        return outcome.recorded

    async def _current_accounts(self, posting: Posting, context) -> dict:
        """Read the posting's accounts from the ledger store into the view."""
        current = {}
        for account_id in (posting.account_id, posting.counter_account_id):
            if not account_id:
                continue
            response = await self._ledger.call(
                "GetAccount", store.GetAccountRequest(account_id=account_id), context
            )
            self._feed.view.put(response.account)
            current[account_id] = response.account
        return current

    async def GetTransaction(self, request, context):
        await self._wait(request.min_sequence)
        response = await self._ledger.call(
            "GetTransaction", forward(request, store.GetTransactionRequest), context
        )
        return forward(response, api.GetTransactionResponse)

    async def ListStatement(self, request, context):
        await self._wait(request.min_sequence)
        response = await self._ledger.call(
            "ListStatement", forward(request, store.ListStatementRequest), context
        )
        return forward(response, api.ListStatementResponse)

    async def _wait(self, min_sequence: int) -> None:
        if min_sequence:
            await self._feed.reach(min_sequence, self._read_wait)

    async def WatchTransactions(self, request, context: grpc.aio.ServicerContext):
        account_id = validation.positive_id(request.account_id, "account_id", "account")
        if self._feed.view.get(account_id) is None:
            await self._ledger.call(
                "GetAccount", store.GetAccountRequest(account_id=account_id), context
            )
        after = request.after_sequence if request.HasField("after_sequence") else None
        backoff = 0.1
        while not self._closing.is_set():
            try:
                after = await self._relay(account_id, after, context)
                backoff = 0.1
            except grpc.aio.AioRpcError as error:
                translated = self._ledger.translate(error, "WatchChanges")
                if not isinstance(translated, errors.Unavailable):
                    raise translated from None
                log.warning(
                    "WatchTransactions for account %d lost the ledger store (%s); "
                    "resuming after sequence %s",
                    account_id,
                    error.code().name,
                    after,
                )
            await _sleep_or_closing(backoff * (0.5 + random.random()), self._closing)
            backoff = min(5.0, backoff * 2)
        raise errors.ShuttingDown(
            "the transaction service is shutting down: once it is back, watch again "
            "with after_sequence set to the last sequence you received"
        )

    async def _relay(self, account_id: int, after: int | None, context) -> int | None:
        """Relay the account's transaction events; return the last sequence seen."""
        upstream = store.WatchChangesRequest(
            entity_types=[pb.ENTITY_TYPE_TRANSACTION], account_id=account_id
        )
        if after is not None:
            upstream.after_sequence = after
        stream = self._ledger.stub.WatchChanges(upstream, wait_for_ready=True)
        closing = asyncio.ensure_future(self._closing.wait())
        try:
            async for message in stream:
                if after is None:
                    after = message.latest_sequence
                for event in message.events:
                    await context.write(
                        api.WatchTransactionsResponse(
                            transaction=event.transaction, sequence=event.sequence
                        )
                    )
                    after = event.sequence
                if closing.done():
                    break
        finally:
            closing.cancel()
            stream.cancel()
        return after

    async def GetServiceStatus(self, request, context):
        return api.GetServiceStatusResponse(
            applied_sequence=self._feed.applied_seq,
            ledger_sequence=self._feed.ledger_seq,
            lag=self._feed.lag,
            feed_connected=self._feed.connected,
            view_accounts=len(self._feed.view),
        )


def _check_transfer_ids(request) -> None:
    """Check the account ids of a transfer under this API's field names."""
    validation.request_id(request.request_id)
    validation.positive_id(request.from_account_id, "from_account_id", "account")
    validation.positive_id(request.to_account_id, "to_account_id", "account")
    if request.from_account_id == request.to_account_id:
        raise errors.InvalidArgument(
            f"from_account_id and to_account_id are both {request.to_account_id}: "
            "name two different accounts",
            field="to_account_id",
            reason="SAME_ACCOUNT",
        )


def _check_accounts(posting: Posting, lookup) -> None:
    """Check each account of ``posting`` that ``lookup(account_id)`` returns."""
    roles = [(posting.account_id, "")]
    if posting.kind == "TRANSFER":
        roles = [
            (posting.account_id, "source"),
            (posting.counter_account_id, "destination"),
        ]
    accounts = []
    for account_id, role in roles:
        account = lookup(account_id)
        if account is None or account.type == pb.ACCOUNT_TYPE_INTERNAL:
            return
        status = _STATUS_NAME.get(account.status, "")
        account_rules.check_postable(account_id, status, role)
        accounts.append(account)
    if len(accounts) == 2:
        source, destination = accounts
        account_rules.check_transfer_currencies(
            source.account_id,
            source.currency_code,
            destination.account_id,
            destination.currency_code,
        )
    for account in accounts:
        account_rules.check_currency(
            account.account_id,
            account.currency_code,
            posting.currency,
            "amount.currency_code",
        )


def _posting(request, kind: int) -> store.PostTransactionRequest:
    posting = store.PostTransactionRequest(
        request_id=request.request_id,
        kind=kind,
        account_id=request.account_id,
        description=request.description,
    )
    _copy_amount(request, posting)
    if request.HasField("counterparty"):
        posting.counterparty.CopyFrom(request.counterparty)
    return posting


def _copy_amount(request, posting: store.PostTransactionRequest) -> None:
    """Copy the amount only when the caller sent one, so a missing one stays unset."""
    if request.HasField("amount"):
        posting.amount.CopyFrom(request.amount)


async def _sleep_or_closing(seconds: float, closing: asyncio.Event) -> None:
    try:
        await asyncio.wait_for(closing.wait(), seconds)
    except TimeoutError:
        pass
