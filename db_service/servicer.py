"""gRPC entrypoint of the ledger store.

Writes become commands for the single writer; reads run on reader threads
with their own cursors. Errors are raised as ``LedgerError`` and turned into
statuses by the server interceptor.
"""

from __future__ import annotations

import grpc

from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import ledger_store_pb2_grpc as store_grpc
from bank.ledger.v1 import resources_pb2 as pb
from bank_common import errors, validation
from db_service import convert, pagination
from db_service.adapters import accounts as accounts_sql
from db_service.adapters import audit as audit_sql
from db_service.adapters import changelog as changelog_sql
from db_service.adapters import customers as customers_sql
from db_service.adapters import idempotency as idempotency_sql
from db_service.adapters import transactions as transactions_sql
from db_service.adapters.database import Database
from db_service.commands.accounts import CloseAccount, OpenAccount, UpdateAccount
from db_service.commands.customers import CreateCustomer, DeleteCustomer, UpdateCustomer
from db_service.commands.postings import PostTransaction, ReverseTransaction
from db_service.feed import ChangeFeed, Filter, entity_type_names
from db_service.writer import LedgerWriter

DEFAULT_AUDIT_VIOLATIONS = 1000
MAX_AUDIT_VIOLATIONS = 10_000


class LedgerStoreServicer(store_grpc.LedgerStoreServiceServicer):
    def __init__(
        self,
        database: Database,
        writer: LedgerWriter,
        feed: ChangeFeed,
        start_time_us: int,
    ):
        self._database = database
        self._writer = writer
        self._feed = feed
        self._currency_rows = database.currencies()
        self._currencies = frozenset(row[0] for row in self._currency_rows)
        self._start_time_us = start_time_us

    # Customers.

    async def CreateCustomer(self, request, context):
        return await self._writer.submit(CreateCustomer(request))

    async def UpdateCustomer(self, request, context):
        return await self._writer.submit(UpdateCustomer(request))

    async def DeleteCustomer(self, request, context):
        return await self._writer.submit(DeleteCustomer(request))

    async def GetCustomer(self, request, context):
        _one_key(request.customer_id, request.external_ref, "customer_id")
        if request.external_ref:
            record = await self._database.read(
                lambda c: customers_sql.find_by_ref(c, request.external_ref)
            )
        else:
            found = await self._database.read(
                lambda c: customers_sql.load(c, [request.customer_id])
            )
            record = found.get(request.customer_id)
        if record is None:
            raise errors.CustomerNotFound(
                "no customer with "
                f"{_key_text(request.customer_id, request.external_ref, 'customer_id')}"
                ": check the value, or find the customer with ListCustomers",
                **_key_metadata(
                    request.customer_id, request.external_ref, "customer_id"
                ),
            )
        return store.GetCustomerResponse(customer=convert.customer_message(record))

    async def ListCustomers(self, request, context):
        size = validation.page_size(request.page_size)
        query = "customers"
        after = pagination.decode(request.page_token, query)
        records = await self._database.read(
            lambda c: customers_sql.page(c, after, size + 1)
        )
        response = store.ListCustomersResponse(
            customers=[convert.customer_message(r) for r in records[:size]]
        )
        if len(records) > size:
            response.next_page_token = pagination.encode(
                query, records[size - 1].customer_id
            )
        return response

    # Accounts.

    async def OpenAccount(self, request, context):
        return await self._writer.submit(OpenAccount(request, self._currencies))

    async def UpdateAccount(self, request, context):
        return await self._writer.submit(UpdateAccount(request))

    async def CloseAccount(self, request, context):
        return await self._writer.submit(CloseAccount(request))

    async def GetAccount(self, request, context):
        _one_key(request.account_id, request.external_ref, "account_id")
        if request.external_ref:
            record = await self._database.read(
                lambda c: accounts_sql.find_by_ref(c, request.external_ref)
            )
        else:
            found = await self._database.read(
                lambda c: accounts_sql.load(c, [request.account_id])
            )
            record = found.get(request.account_id)
        if record is None:
            raise errors.AccountNotFound(
                "no account with "
                f"{_key_text(request.account_id, request.external_ref, 'account_id')}"
                ": check the value, or list a customer's accounts with ListAccounts",
                **_key_metadata(request.account_id, request.external_ref, "account_id"),
            )
        return store.GetAccountResponse(account=convert.account_message(record))

    async def ListAccounts(self, request, context):
        size = validation.page_size(request.page_size)
        if request.customer_id < 0:
            validation.positive_id(request.customer_id, "customer_id", "customer")
        query = f"accounts:{request.customer_id}"
        after = pagination.decode(request.page_token, query)
        if request.customer_id:
            await self._require_customer(request.customer_id)
        records = await self._database.read(
            lambda c: accounts_sql.page(c, request.customer_id, after, size + 1)
        )
        response = store.ListAccountsResponse(
            accounts=[convert.account_message(r) for r in records[:size]]
        )
        if len(records) > size:
            response.next_page_token = pagination.encode(
                query, records[size - 1].account_id
            )
        return response

    # Transactions.

    async def PostTransaction(self, request, context):
        return await self._writer.submit(PostTransaction(request, self._currencies))

    async def ReverseTransaction(self, request, context):
        return await self._writer.submit(ReverseTransaction(request))

    async def GetTransaction(self, request, context):
        _one_key(request.transaction_id, request.external_ref, "transaction_id")

        def read(cursor):
            if request.external_ref:
                record = transactions_sql.find_by_ref(cursor, request.external_ref)
            else:
                record = transactions_sql.load(cursor, request.transaction_id)
            if record is None:
                return None, {}
            ids = [entry.account_id for entry in record.entries]
            return record, transactions_sql.currencies_of(cursor, ids)

        record, currencies = await self._database.read(read)
        if record is None:
            key = _key_text(
                request.transaction_id, request.external_ref, "transaction_id"
            )
            raise errors.TransactionNotFound(
                f"no transaction with {key}: check the value",
                **_key_metadata(
                    request.transaction_id, request.external_ref, "transaction_id"
                ),
            )
        return store.GetTransactionResponse(
            transaction=convert.transaction_message(record, currencies)
        )

    async def ListStatement(self, request, context):
        account_id = validation.positive_id(request.account_id, "account_id", "account")
        size = validation.page_size(request.page_size)
        start = validation.iso_date(request.start_date, "start_date")
        end = validation.iso_date(request.end_date, "end_date")
        if start and end and start > end:
            raise errors.InvalidArgument(
                f"start_date {start} is after end_date {end}: swap them",
                field="start_date",
                reason="INVALID_DATE_RANGE",
            )
        query = f"statement:{account_id}:{start}:{end}"
        after = pagination.decode(request.page_token, query)
        found = await self._database.read(lambda c: accounts_sql.load(c, [account_id]))
        if account_id not in found:
            raise errors.AccountNotFound(
                f"account {account_id} does not exist: check the id",
                account_id=account_id,
            )
        currency = found[account_id].currency_code
        rows = await self._database.read(
            lambda c: transactions_sql.statement(
                c, account_id, after, start, end, size + 1
            )
        )
        response = store.ListStatementResponse(
            lines=[_statement_line(row, currency) for row in rows[:size]]
        )
        if len(rows) > size:
            response.next_page_token = pagination.encode(query, rows[size - 1].entry_id)
        return response

    async def GetRequestOutcome(self, request, context):
        request_id = validation.request_id(request.request_id)
        found = await self._database.read(
            lambda cursor: idempotency_sql.load(cursor, [request_id])
        )
        record = found.get(request_id)
        if record is None:
            return store.GetRequestOutcomeResponse(recorded=False)
        return store.GetRequestOutcomeResponse(
            recorded=True, method=record.method, commit_sequence=record.commit_seq
        )

    # Change feed and information.

    async def WatchChanges(self, request, context: grpc.aio.ServicerContext):
        if request.account_id < 0:
            validation.positive_id(request.account_id, "account_id", "account")
        for value in request.entity_types:
            if value not in convert.ENTITY_TYPE_NAME:
                raise errors.InvalidArgument(
                    f"entity_types contains {value}: use ENTITY_TYPE_CUSTOMER, "
                    "ENTITY_TYPE_ACCOUNT or ENTITY_TYPE_TRANSACTION",
                    field="entity_types",
                    reason="INVALID_ENUM",
                )
        after = await self._start_sequence(request)
        event_filter = Filter(
            entity_type_names(request.entity_types), request.account_id
        )
        await context.write(
            store.WatchChangesResponse(latest_sequence=self._feed.latest_seq)
        )
        async for events, latest in self._feed.stream(after, event_filter):
            await context.write(
                store.WatchChangesResponse(events=events, latest_sequence=latest)
            )
        # The feed ends only when the store stops; OK would look like a normal end.
        raise errors.ShuttingDown(
            "the ledger store is shutting down: once it is back, watch again with "
            "after_sequence set to the last sequence you received"
        )

    async def _start_sequence(self, request) -> int:
        latest = self._feed.latest_seq
        if not request.HasField("after_sequence"):
            return latest
        after = request.after_sequence
        if after > latest:
            raise errors.SequenceOutOfRange(
                f"after_sequence {after} is beyond the latest committed sequence "
                f"{latest}: "
                "resume from a sequence you have received",
                latest_sequence=latest,
            )
        oldest, _ = await self._database.read(changelog_sql.bounds)
        if oldest and after < oldest - 1:
            raise errors.SequenceOutOfRange(
                f"after_sequence {after} is older than the retained change log, which "
                "starts "
                f"at {oldest}: reload the state you need and resume from {oldest - 1} "
                "or later",
                oldest_sequence=oldest,
            )
        return after

    async def GetLedgerInfo(self, request, context):
        oldest, _ = await self._database.read(changelog_sql.bounds)
        response = store.GetLedgerInfoResponse(
            latest_sequence=self._feed.latest_seq,
            oldest_retained_sequence=oldest,
            currencies=[
                store.Currency(code=code, minor_unit_exponent=exponent, name=name)
                for code, exponent, name in self._currency_rows
            ],
        )
        response.start_time.CopyFrom(convert.timestamp(self._start_time_us))
        return response

    async def RunAudit(self, request, context):
        limit = _max_violations(request.max_violations)
        report = await self._database.read(lambda c: audit_sql.run(c, limit))
        return store.RunAuditResponse(
            violations=[convert.audit_violation_message(v) for v in report.violations],
            truncated=report.truncated,
            accounts_checked=report.accounts,
            transactions_checked=report.transactions,
            entries_checked=report.entries,
            oldest_sequence=report.oldest_sequence,
            latest_sequence=report.latest_sequence,
        )

    async def _require_customer(self, customer_id: int) -> None:
        found = await self._database.read(
            lambda c: customers_sql.load(c, [customer_id])
        )
        if customer_id not in found:
            raise errors.CustomerNotFound(
                f"customer {customer_id} does not exist: check the id",
                customer_id=customer_id,
            )


def _max_violations(value: int) -> int:
    if value < 0 or value > MAX_AUDIT_VIOLATIONS:
        raise errors.InvalidArgument(
            f"max_violations is {value}: use 1 to {MAX_AUDIT_VIOLATIONS}, or 0 for "
            f"the default of {DEFAULT_AUDIT_VIOLATIONS}",
            field="max_violations",
            reason="INVALID_MAX_VIOLATIONS",
        )
    return value or DEFAULT_AUDIT_VIOLATIONS


def _one_key(entity_id: int, external_ref: str, id_field: str) -> None:
    if bool(entity_id) == bool(external_ref):
        raise errors.InvalidArgument(
            f"{id_field} is {entity_id} and external_ref is "
            f"{validation.clip(external_ref)!r}: set exactly one of them",
            field=id_field,
            reason="INVALID_KEY",
        )
    if entity_id < 0:
        validation.positive_id(entity_id, id_field, id_field.removesuffix("_id"))
    if external_ref:
        validation.text(external_ref, "external_ref", 128)


def _key_text(entity_id: int, external_ref: str, id_field: str) -> str:
    return (
        f"external_ref {external_ref!r}" if external_ref else f"{id_field} {entity_id}"
    )


def _key_metadata(entity_id: int, external_ref: str, id_field: str) -> dict:
    """Return the ErrorInfo metadata of the key a Get request looked up."""
    return {"external_ref": external_ref} if external_ref else {id_field: entity_id}


def _statement_line(
    row: transactions_sql.StatementRow, currency: str
) -> pb.StatementLine:
    line = pb.StatementLine(
        entry_id=row.entry_id,
        transaction_id=row.transaction_id,
        kind=convert.KIND[row.kind],
        amount=pb.Money(currency_code=currency, minor_units=row.amount),
        balance_after=pb.Money(currency_code=currency, minor_units=row.balance_after),
        description=row.description,
        value_date=row.value_date,
        counter_account_id=row.counter_account_id or 0,
    )
    if row.counterparty_bank or row.counterparty_account:
        line.counterparty.CopyFrom(
            pb.Counterparty(
                bank_code=row.counterparty_bank or "",
                account_number=row.counterparty_account or "",
            )
        )
    line.post_time.CopyFrom(convert.timestamp(row.posted_us))
    return line
