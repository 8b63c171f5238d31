"""DuckDB schema of the ledger, created and migrated at start-up.

Rules that follow from DuckDB 2.0.1's foreign-key implementation, which
rejects some legal updates of referenced rows with a spurious FK error:

- mutable columns of ``customers`` and ``accounts`` carry no index, no
  UNIQUE constraint and no LIST or STRUCT type;
- no ``UPDATE ... RETURNING`` on those tables;
- nothing referenced is ever deleted: removal is a status change.

Money is BIGINT minor units everywhere. Times are TIMESTAMPTZ in UTC.
"""

from __future__ import annotations

# Currencies the ledger accepts, with their ISO 4217 minor-unit exponent.
CURRENCIES: tuple[tuple[str, int, str], ...] = (
    ("CZK", 2, "Czech koruna"),
    ("EUR", 2, "Euro"),
    ("USD", 2, "US dollar"),
    ("GBP", 2, "Pound sterling"),
    ("CHF", 2, "Swiss franc"),
    ("PLN", 2, "Polish zloty"),
    ("HUF", 2, "Hungarian forint"),
    ("SEK", 2, "Swedish krona"),
    ("JPY", 0, "Japanese yen"),
    ("BHD", 3, "Bahraini dinar"),
)

# The bank's own accounts, one of each purpose per currency.
BANK_ACCOUNT_PURPOSES: tuple[str, ...] = ("CASH", "CLEARING", "INTEREST", "FEES")

_V1 = """
CREATE TABLE currencies (
    currency_code VARCHAR PRIMARY KEY
        CHECK (regexp_full_match(currency_code, '[A-Z]{3}')),
    minor_unit_exponent INTEGER NOT NULL CHECK (minor_unit_exponent BETWEEN 0 AND 4),
    name VARCHAR NOT NULL
);

CREATE TABLE customers (
    customer_id BIGINT PRIMARY KEY,
    full_name VARCHAR NOT NULL CHECK (length(full_name) BETWEEN 1 AND 200),
    email VARCHAR CHECK (length(email) <= 254),
    phone VARCHAR CHECK (length(phone) <= 32),
    birth_date DATE,
    sex VARCHAR CHECK (sex IN ('FEMALE', 'MALE')),
    region VARCHAR CHECK (length(region) <= 100),
    status VARCHAR NOT NULL CHECK (status IN ('ACTIVE', 'DELETED')),
    version BIGINT NOT NULL CHECK (version >= 1),
    external_ref VARCHAR UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    change_seq BIGINT NOT NULL
);

CREATE TABLE accounts (
    account_id BIGINT PRIMARY KEY,
    currency_code VARCHAR NOT NULL REFERENCES currencies (currency_code),
    account_type VARCHAR NOT NULL
        CHECK (account_type IN ('CHECKING', 'SAVINGS', 'INTERNAL')),
    status VARCHAR NOT NULL CHECK (status IN ('ACTIVE', 'FROZEN', 'CLOSED')),
    nickname VARCHAR CHECK (length(nickname) <= 100),
    overdraft_limit BIGINT CHECK (overdraft_limit >= 0),
    balance BIGINT NOT NULL,
    version BIGINT NOT NULL CHECK (version >= 1),
    external_ref VARCHAR UNIQUE,
    opened_at TIMESTAMPTZ NOT NULL,
    closed_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL,
    last_activity_at TIMESTAMPTZ,
    change_seq BIGINT NOT NULL,
    CHECK ((account_type = 'INTERNAL') = (overdraft_limit IS NULL)),
    CHECK ((status = 'CLOSED') = (closed_at IS NOT NULL)),
    CHECK (status <> 'CLOSED' OR balance = 0)
);

CREATE TABLE account_holders (
    account_id BIGINT NOT NULL REFERENCES accounts (account_id),
    customer_id BIGINT NOT NULL REFERENCES customers (customer_id),
    role VARCHAR NOT NULL CHECK (role IN ('OWNER', 'AUTHORIZED')),
    PRIMARY KEY (account_id, customer_id)
);

CREATE TABLE bank_accounts (
    currency_code VARCHAR NOT NULL REFERENCES currencies (currency_code),
    purpose VARCHAR NOT NULL
        CHECK (purpose IN ('CASH', 'CLEARING', 'INTEREST', 'FEES')),
    account_id BIGINT NOT NULL UNIQUE REFERENCES accounts (account_id),
    PRIMARY KEY (currency_code, purpose)
);

CREATE TABLE transactions (
    transaction_id BIGINT PRIMARY KEY,
    kind VARCHAR NOT NULL CHECK (kind IN ('DEPOSIT', 'WITHDRAWAL', 'TRANSFER',
        'INCOMING_PAYMENT', 'OUTGOING_PAYMENT', 'INTEREST', 'FEE', 'REVERSAL')),
    description VARCHAR NOT NULL CHECK (length(description) <= 200),
    counterparty_bank VARCHAR CHECK (length(counterparty_bank) <= 32),
    counterparty_account VARCHAR CHECK (length(counterparty_account) <= 64),
    value_date DATE NOT NULL,
    posted_at TIMESTAMPTZ NOT NULL,
    external_ref VARCHAR UNIQUE,
    imported BOOLEAN NOT NULL,
    change_seq BIGINT NOT NULL
);

CREATE TABLE reversals (
    reversal_transaction_id BIGINT PRIMARY KEY
        REFERENCES transactions (transaction_id),
    reversed_transaction_id BIGINT NOT NULL UNIQUE
        REFERENCES transactions (transaction_id)
);

CREATE TABLE entries (
    entry_id BIGINT PRIMARY KEY,
    transaction_id BIGINT NOT NULL REFERENCES transactions (transaction_id),
    account_id BIGINT NOT NULL REFERENCES accounts (account_id),
    amount BIGINT NOT NULL CHECK (amount <> 0),
    balance_after BIGINT NOT NULL
);

CREATE TABLE idempotency_keys (
    request_id VARCHAR PRIMARY KEY,
    method VARCHAR NOT NULL,
    request_hash BLOB NOT NULL,
    response BLOB NOT NULL,
    commit_seq BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE change_log (
    seq BIGINT PRIMARY KEY CHECK (seq >= 1),
    committed_at TIMESTAMPTZ NOT NULL,
    entity_type VARCHAR NOT NULL
        CHECK (entity_type IN ('CUSTOMER', 'ACCOUNT', 'TRANSACTION')),
    change_kind VARCHAR NOT NULL CHECK (change_kind IN ('CREATED', 'UPDATED', 'DELETED',
        'BALANCE_CHANGED', 'CLOSED', 'POSTED')),
    entity_id BIGINT NOT NULL,
    account_ids BIGINT[] NOT NULL,
    payload BLOB NOT NULL
);
"""

# Each migration runs once, in order, in its own transaction, and is
# recorded in schema_migrations. Append new ones; never edit a released one.
MIGRATIONS: tuple[tuple[int, str], ...] = ((1, _V1),)

MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL
)
"""
