"""gRPC entrypoint of the account management API.

Writes and customer reads go to the ledger store. Account reads are served
from the live account view when it contains the account and has applied the
caller's ``min_sequence``; otherwise they go to the ledger store too, which
is always current.
"""

from __future__ import annotations

import asyncio

import grpc

from bank.accounts.v1 import account_service_pb2 as api
from bank.accounts.v1 import account_service_pb2_grpc as api_grpc
from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import resources_pb2 as pb
from bank_common import errors, validation
from bank_common.feed_consumer import FeedConsumer
from bank_common.forwarding import forward
from bank_common.ledger_client import LedgerClient

# Changes that WatchAccount reports.
_WATCHED_KINDS = frozenset(
    {
        pb.CHANGE_KIND_CREATED,
        pb.CHANGE_KIND_UPDATED,
        pb.CHANGE_KIND_BALANCE_CHANGED,
        pb.CHANGE_KIND_CLOSED,
    }
)


class AccountWatchers:
    """Fans account change events out to open WatchAccount streams."""

    def __init__(self, queue_size: int = 256):
        self._queue_size = queue_size
        self._by_account: dict[int, set[asyncio.Queue]] = {}
        self._closing = asyncio.Event()

    def subscribe(self, account_id: int) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(self._queue_size)
        self._by_account.setdefault(account_id, set()).add(queue)
        return queue

    def unsubscribe(self, account_id: int, queue: asyncio.Queue) -> None:
        queues = self._by_account.get(account_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._by_account[account_id]

    def on_event(self, event: pb.ChangeEvent) -> None:
        if not event.HasField("account") or event.change_kind not in _WATCHED_KINDS:
            return
        for queue in self._by_account.get(event.account.account_id, ()):
            if queue.full():
                # The stream reads too slowly: keep only the newest state,
                # which carries everything an account watcher needs.
                while not queue.empty():
                    queue.get_nowait()
            queue.put_nowait(event)

    @property
    def closing(self) -> asyncio.Event:
        return self._closing


class AccountServicer(api_grpc.AccountServiceServicer):
    def __init__(
        self,
        ledger: LedgerClient,
        feed: FeedConsumer,
        watchers: AccountWatchers,
        *,
        read_wait: float,
    ):
        self._ledger = ledger
        self._feed = feed
        self._watchers = watchers
        self._read_wait = read_wait

    async def _write(self, method: str, request, response_type, context):
        response = await self._ledger.call(
            method, forward(request, getattr(store, f"{method}Request")), context
        )
        return forward(response, response_type)

    async def _write_account(self, method: str, request, response_type, context):
        """Write through the ledger store, then show the result in the view at once."""
        response = await self._write(method, request, response_type, context)
        self._feed.view.put(response.account)
        return response

    # Customers.

    async def CreateCustomer(self, request, context):
        return await self._write(
            "CreateCustomer", request, api.CreateCustomerResponse, context
        )

    async def UpdateCustomer(self, request, context):
        return await self._write(
            "UpdateCustomer", request, api.UpdateCustomerResponse, context
        )

    async def DeleteCustomer(self, request, context):
        return await self._write(
            "DeleteCustomer", request, api.DeleteCustomerResponse, context
        )

    async def GetCustomer(self, request, context):
        if request.min_sequence:
            await self._feed.reach(request.min_sequence, self._read_wait)
        response = await self._ledger.call(
            "GetCustomer", forward(request, store.GetCustomerRequest), context
        )
        return forward(response, api.GetCustomerResponse)

    async def ListCustomers(self, request, context):
        response = await self._ledger.call(
            "ListCustomers", forward(request, store.ListCustomersRequest), context
        )
        return forward(response, api.ListCustomersResponse)

    # Accounts.

    async def OpenAccount(self, request, context):
        return await self._write_account(
            "OpenAccount", request, api.OpenAccountResponse, context
        )

    async def UpdateAccount(self, request, context):
        return await self._write_account(
            "UpdateAccount", request, api.UpdateAccountResponse, context
        )

    async def CloseAccount(self, request, context):
        return await self._write_account(
            "CloseAccount", request, api.CloseAccountResponse, context
        )

    async def GetAccount(self, request, context):
        if request.account_id and not request.external_ref:
            account = await self._from_view(request.account_id, request.min_sequence)
            if account is not None:
                return api.GetAccountResponse(account=account)
        response = await self._ledger.call(
            "GetAccount", forward(request, store.GetAccountRequest), context
        )
        self._feed.view.put(response.account)
        return forward(response, api.GetAccountResponse)

    async def _from_view(self, account_id: int, min_sequence: int) -> pb.Account | None:
        """Return the view's state of the account, or None to ask the ledger store."""
        if min_sequence and not await self._feed.reach(min_sequence, self._read_wait):
            return None
        return self._feed.view.get(account_id)

    async def ListAccounts(self, request, context):
        response = await self._ledger.call(
            "ListAccounts", forward(request, store.ListAccountsRequest), context
        )
        return forward(response, api.ListAccountsResponse)

    async def WatchAccount(self, request, context: grpc.aio.ServicerContext):
        account_id = validation.positive_id(request.account_id, "account_id", "account")
        queue = self._watchers.subscribe(account_id)
        try:
            current = await self.GetAccount(
                api.GetAccountRequest(account_id=account_id), context
            )
            sent = current.account.change_sequence
            await context.write(
                api.WatchAccountResponse(account=current.account, sequence=sent)
            )
            while not self._watchers.closing.is_set():
                event = await _next_or_closing(queue, self._watchers.closing)
                if event is None or event.sequence <= sent:
                    continue
                sent = event.sequence
                await context.write(
                    api.WatchAccountResponse(
                        account=event.account,
                        change_kind=event.change_kind,
                        sequence=event.sequence,
                    )
                )
        finally:
            self._watchers.unsubscribe(account_id, queue)
        raise errors.ShuttingDown(
            "the account service is shutting down: once it is back, watch again; "
            "the first message is the account's current state"
        )

    async def GetServiceStatus(self, request, context):
        return api.GetServiceStatusResponse(
            applied_sequence=self._feed.applied_seq,
            ledger_sequence=self._feed.ledger_seq,
            lag=self._feed.lag,
            feed_connected=self._feed.connected,
            view_accounts=len(self._feed.view),
        )


async def _next_or_closing(queue: asyncio.Queue, closing: asyncio.Event):
    """Return the next queued item, or None once ``closing`` is set."""
    getter = asyncio.ensure_future(queue.get())
    stopper = asyncio.ensure_future(closing.wait())
    try:
        done, _ = await asyncio.wait(
            {getter, stopper}, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        # Also when the stream is cancelled, so no task is left pending.
        stopper.cancel()
        if not getter.done():
            getter.cancel()
    if getter in done:
        return getter.result()
    return None
