"""The DuckDB adapters on a real database file in a temporary folder."""

from __future__ import annotations

import dataclasses

import duckdb
import pytest

from db_service.adapters import accounts as accounts_sql
from db_service.adapters import bulk, schema
from db_service.adapters import changelog as changelog_sql
from db_service.adapters import customers as customers_sql
from db_service.adapters import idempotency as idempotency_sql
from db_service.adapters import transactions as transactions_sql
from db_service.adapters.database import Database, transaction
from db_service.domain.model import (
    AccountRecord,
    ChangeRecord,
    CustomerRecord,
    EntryRecord,
    IdempotencyRecord,
    TransactionRecord,
)

# 1995-01-02T03:04:05.678901Z in microseconds since the epoch.
T0 = 788_324_645_678_901


@pytest.fixture
def database(tmp_path):
    opened = Database(str(tmp_path / "ledger.duckdb"))
    yield opened
    opened.close()


@pytest.fixture
def cursor(database):
    opened = database.cursor()
    yield opened
    opened.close()


def customer(customer_id: int, **changes) -> CustomerRecord:
    record = CustomerRecord(
        customer_id=customer_id,
        full_name=f"Customer {customer_id}",
        email=None,
        phone="+420 123",
        birth_date="1970-05-17",
        sex="FEMALE",
        region="Praha",
        status="ACTIVE",
        version=1,
        external_ref=f"ref:{customer_id}",
        created_us=T0,
        updated_us=T0,
        change_seq=customer_id,
    )
    return dataclasses.replace(record, **changes)


def account(account_id: int, holders=((1, "OWNER"),), **changes) -> AccountRecord:
    record = AccountRecord(
        account_id=account_id,
        currency_code="CZK",
        account_type="CHECKING",
        status="ACTIVE",
        nickname=None,
        overdraft_limit=0,
        balance=0,
        version=1,
        external_ref=None,
        opened_us=T0,
        closed_us=None,
        updated_us=T0,
        last_activity_us=None,
        change_seq=1,
        holders=holders,
    )
    return dataclasses.replace(record, **changes)


def count(cursor, table: str) -> int:
    return cursor.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_opening_twice_migrates_once_and_keeps_data(tmp_path):
    path = str(tmp_path / "ledger.duckdb")
    first = Database(path)
    cursor = first.cursor()
    customers_sql.insert_all(cursor, [customer(1)])
    cursor.close()
    first.close()

    second = Database(path)
    cursor = second.cursor()
    migrations = cursor.execute("SELECT version FROM schema_migrations").fetchall()
    currencies = count(cursor, "currencies")
    stored = customers_sql.load(cursor, [1])
    cursor.close()
    second.close()

    assert migrations == [(version,) for version, _ in schema.MIGRATIONS]
    assert currencies == len(schema.CURRENCIES)
    assert stored == {1: customer(1)}


def test_database_creates_missing_folder(tmp_path):
    path = tmp_path / "a" / "b" / "ledger.duckdb"

    opened = Database(str(path))
    opened.close()

    assert path.exists()


def test_currencies_are_listed_in_code_order(database):
    rows = database.currencies()

    assert [row[0] for row in rows] == sorted(code for code, _, _ in schema.CURRENCIES)
    assert ("JPY", 0, "Japanese yen") in rows


def test_transaction_commits_block_without_error(cursor):
    with transaction(cursor):
        customers_sql.insert_all(cursor, [customer(1), customer(2)])

    assert count(cursor, "customers") == 2


def test_transaction_rolls_back_on_python_error(cursor):
    with pytest.raises(KeyError), transaction(cursor):
        customers_sql.insert_all(cursor, [customer(1)])
        raise KeyError("stop")

    assert count(cursor, "customers") == 0


def test_transaction_rolls_back_after_failed_statement(cursor):
    with pytest.raises(duckdb.ConstraintException), transaction(cursor):
        customers_sql.insert_all(cursor, [customer(1)])
        customers_sql.insert_all(cursor, [customer(1)])

    assert count(cursor, "customers") == 0
    with transaction(cursor):
        customers_sql.insert_all(cursor, [customer(3)])
    assert count(cursor, "customers") == 1


def test_duckdb_commit_after_error_rolls_back(cursor):
    """Pin the DuckDB 2.0.1 behaviour that transaction() exists to handle."""
    cursor.execute("BEGIN TRANSACTION")
    customers_sql.insert_all(cursor, [customer(1)])
    with pytest.raises(duckdb.ConstraintException):
        customers_sql.insert_all(cursor, [customer(1)])
    cursor.execute("COMMIT")

    assert count(cursor, "customers") == 0


def test_bulk_insert_and_update_of_many_rows(cursor):
    records = [
        customer(i, email=None if i % 2 else f"c{i}@example.com")
        for i in range(1, 1001)
    ]
    customers_sql.insert_all(cursor, records)
    changed = [
        dataclasses.replace(r, full_name=f"Renamed {r.customer_id}", version=2)
        for r in records[::3]
    ]

    customers_sql.update_all(cursor, changed)

    stored = customers_sql.load(cursor, range(1, 1001))
    expected = {r.customer_id: r for r in records}
    expected.update({r.customer_id: r for r in changed})
    assert stored == expected
    assert customers_sql.max_id(cursor) == 1000


def test_bulk_with_no_rows_runs_no_statement(cursor):
    columns = (bulk.Column("customer_id", "BIGINT"),)

    bulk.insert(cursor, "no_such_table", columns, [])
    bulk.update(cursor, "no_such_table", columns[0], columns, [])


def test_customer_pages_and_lookups(cursor):
    customers_sql.insert_all(cursor, [customer(i) for i in range(1, 8)])

    first = customers_sql.page(cursor, 0, 3)
    rest = customers_sql.page(cursor, first[-1].customer_id, 10)

    assert [r.customer_id for r in first] == [1, 2, 3]
    assert [r.customer_id for r in rest] == [4, 5, 6, 7]
    assert customers_sql.find_by_ref(cursor, "ref:5") == customer(5)
    assert customers_sql.find_by_ref(cursor, "ref:99") is None
    assert customers_sql.taken_refs(cursor, ["ref:2", "ref:99"]) == {"ref:2"}


def test_account_round_trip_with_holders_and_update(cursor):
    customers_sql.insert_all(cursor, [customer(1), customer(2)])
    joint = account(10, holders=((1, "OWNER"), (2, "AUTHORIZED")), external_ref="a:10")
    accounts_sql.insert_all(cursor, [joint, account(11)])
    closed = dataclasses.replace(
        joint,
        status="CLOSED",
        closed_us=T0 + 5,
        version=2,
        nickname="old",
        last_activity_us=T0 + 4,
        change_seq=9,
    )

    accounts_sql.update_all(cursor, [closed])

    assert accounts_sql.load(cursor, [10, 11]) == {10: closed, 11: account(11)}
    assert accounts_sql.find_by_ref(cursor, "a:10") == closed
    assert customers_sql.count_open_accounts(cursor, 1) == 1
    assert customers_sql.count_open_accounts(cursor, 2) == 0
    assert [a.account_id for a in accounts_sql.page(cursor, 2, 0, 10)] == [10]
    assert [a.account_id for a in accounts_sql.page(cursor, 0, 10, 10)] == [11]


def test_balance_update_of_referenced_account_succeeds(cursor):
    """DuckDB 2.0 accepts a balance update of an account that entries reference."""
    customers_sql.insert_all(cursor, [customer(1)])
    accounts_sql.insert_all(cursor, [account(10), account(11)])
    posted = TransactionRecord(
        transaction_id=1,
        kind="TRANSFER",
        description="rent",
        counterparty_bank=None,
        counterparty_account=None,
        value_date="1995-01-02",
        posted_us=T0,
        external_ref=None,
        imported=False,
        change_seq=3,
        reverses_transaction_id=None,
        entries=(EntryRecord(1, 1, 10, -500, -500), EntryRecord(2, 1, 11, 500, 500)),
    )

    with transaction(cursor):
        transactions_sql.insert_all(cursor, [posted])
        accounts_sql.update_all(
            cursor,
            [account(10, balance=-500, version=1), account(11, balance=500)],
        )

    balances = cursor.execute(
        "SELECT account_id, balance FROM accounts ORDER BY 1"
    ).fetchall()
    assert balances == [(10, -500), (11, 500)]


def test_transactions_statement_and_reversal(cursor):
    customers_sql.insert_all(cursor, [customer(1)])
    accounts_sql.insert_all(cursor, [account(10), account(11)])
    transfer = TransactionRecord(
        transaction_id=1,
        kind="TRANSFER",
        description="rent",
        counterparty_bank=None,
        counterparty_account=None,
        value_date="1995-01-02",
        posted_us=T0,
        external_ref="t:1",
        imported=False,
        change_seq=3,
        reverses_transaction_id=None,
        entries=(EntryRecord(1, 1, 10, -500, -500), EntryRecord(2, 1, 11, 500, 500)),
    )
    reversal = dataclasses.replace(
        transfer,
        transaction_id=2,
        kind="REVERSAL",
        value_date="1995-02-01",
        external_ref=None,
        change_seq=6,
        reverses_transaction_id=1,
        entries=(EntryRecord(3, 2, 10, 500, 0), EntryRecord(4, 2, 11, -500, 0)),
    )

    transactions_sql.insert_all(cursor, [transfer, reversal])

    assert transactions_sql.load(cursor, 1) == transfer
    assert transactions_sql.load(cursor, 2) == reversal
    assert transactions_sql.load(cursor, 3) is None
    assert transactions_sql.find_by_ref(cursor, "t:1") == transfer
    assert transactions_sql.reversed_ids(cursor, [1, 2]) == {1}
    assert transactions_sql.max_ids(cursor) == (2, 4)
    lines = transactions_sql.statement(cursor, 10, 0, None, None, 10)
    assert [(r.entry_id, r.amount, r.balance_after) for r in lines] == [
        (1, -500, -500),
        (3, 500, 0),
    ]
    assert {r.counter_account_id for r in lines} == {11}
    february = transactions_sql.statement(cursor, 10, 0, "1995-02-01", None, 10)
    assert [r.entry_id for r in february] == [3]
    after_first = transactions_sql.statement(cursor, 10, 1, None, "1995-12-31", 10)
    assert [r.entry_id for r in after_first] == [3]


def test_change_log_bounds_and_filters(cursor):
    assert changelog_sql.bounds(cursor) == (0, 0)
    events = [
        ChangeRecord(1, T0, "CUSTOMER", "CREATED", 1, (), b"c"),
        ChangeRecord(2, T0, "ACCOUNT", "CREATED", 10, (10,), b"a"),
        ChangeRecord(3, T0, "TRANSACTION", "POSTED", 1, (10, 11), b"t"),
        ChangeRecord(4, T0, "ACCOUNT", "BALANCE_CHANGED", 11, (11,), b"b"),
    ]

    changelog_sql.insert_all(cursor, events)

    assert changelog_sql.bounds(cursor) == (1, 4)
    assert changelog_sql.read_after(cursor, 0, 4, 10, [], 0) == events
    assert changelog_sql.read_after(cursor, 1, 3, 10, [], 0) == events[1:3]
    assert changelog_sql.read_after(cursor, 0, 4, 2, [], 0) == events[:2]
    accounts_only = changelog_sql.read_after(cursor, 0, 4, 10, ["ACCOUNT"], 0)
    assert [e.seq for e in accounts_only] == [2, 4]
    on_eleven = changelog_sql.read_after(cursor, 0, 4, 10, [], 11)
    assert [e.seq for e in on_eleven] == [3, 4]
    assert changelog_sql.delete_older_than(cursor, T0 + 1) == 3
    assert changelog_sql.bounds(cursor) == (4, 4)


def test_idempotency_records_round_trip(cursor):
    records = [
        IdempotencyRecord(f"r-{i}", "PostTransaction", bytes([i]) * 32, b"resp", i)
        for i in range(1, 4)
    ]

    idempotency_sql.insert_all(cursor, records, T0)

    loaded = idempotency_sql.load(cursor, ["r-1", "r-3", "r-9"])
    assert loaded == {"r-1": records[0], "r-3": records[2]}


def test_duplicate_request_id_is_rejected_by_the_table(cursor):
    record = IdempotencyRecord("r-1", "CreateCustomer", b"h", b"x", 1)
    idempotency_sql.insert_all(cursor, [record], T0)

    with pytest.raises(duckdb.ConstraintException):
        idempotency_sql.insert_all(cursor, [record], T0)
