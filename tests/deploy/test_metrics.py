"""Prometheus metrics of the three services, scraped over HTTP after traffic."""

from __future__ import annotations

import threading
import time
import urllib.request

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bank.accounts.v1 import account_service_pb2 as acc
from bank.transactions.v1 import transaction_service_pb2 as txn
from tests.support.bank import Bank

LEDGER = "bank.ledger.v1.LedgerStoreService"
ACCOUNTS = "bank.accounts.v1.AccountService"
TRANSACTIONS = "bank.transactions.v1.TransactionService"


class Scrape:
    """One scrape of a /metrics endpoint: samples by name and labels."""

    def __init__(self, port: int):
        url = f"http://127.0.0.1:{port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            self.content_type = response.headers["Content-Type"]
            text = response.read().decode()
        self.samples = [
            sample
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        ]

    def value(self, name: str, **labels: str) -> float | None:
        """Return the sample's value, or None when no sample has these labels."""
        for sample in self.samples:
            if sample.name == name and all(
                sample.labels.get(key) == wanted for key, wanted in labels.items()
            ):
                return sample.value
        return None

    def buckets(self, name: str, **labels: str) -> list[tuple[float, float]]:
        """Return (upper bound, cumulative count) pairs of a histogram."""
        pairs = [
            (float(sample.labels["le"]), sample.value)
            for sample in self.samples
            if sample.name == f"{name}_bucket"
            and all(sample.labels.get(k) == v for k, v in labels.items())
        ]
        return sorted(pairs)


def scrape(stack, service: str) -> Scrape:
    return Scrape(stack.ports.metrics[service])


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.fixture(scope="module")
def traffic(stack, bank: Bank) -> dict:
    """Run a few successful and failing calls through both public services."""
    source = bank.open_account(overdraft=0)
    destination = bank.open_account()
    bank.deposit(source.account_id, 10_000)
    bank.transfer(source.account_id, destination.account_id, 2_500)
    with pytest.raises(grpc.RpcError):
        bank.withdraw(source.account_id, 1_000_000)
    with pytest.raises(grpc.RpcError):
        bank.accounts.GetAccount(acc.GetAccountRequest(account_id=10**9), timeout=10)
    last = bank.deposit(destination.account_id, 1)
    return {"account_id": source.account_id, "sequence": last.commit_sequence}


def test_requests_counted_by_method_and_code(stack, traffic):
    accounts = scrape(stack, "accounts")
    transactions = scrape(stack, "transactions")
    ledger = scrape(stack, "ledger")

    def handled(metrics: Scrape, service: str, method: str, code: str):
        return metrics.value(
            "grpc_server_handled_total",
            grpc_service=service,
            grpc_method=method,
            grpc_code=code,
        )

    assert handled(accounts, ACCOUNTS, "OpenAccount", "OK") >= 2
    assert handled(accounts, ACCOUNTS, "GetAccount", "NOT_FOUND") >= 1
    assert handled(transactions, TRANSACTIONS, "Deposit", "OK") >= 2
    assert handled(transactions, TRANSACTIONS, "Transfer", "OK") >= 1
    assert handled(transactions, TRANSACTIONS, "Withdraw", "FAILED_PRECONDITION") >= 1
    assert handled(ledger, LEDGER, "PostTransaction", "OK") >= 3
    assert handled(ledger, LEDGER, "PostTransaction", "FAILED_PRECONDITION") >= 1
    assert "text/plain" in ledger.content_type


def test_latency_histogram_matches_request_count(stack, traffic):
    metrics = scrape(stack, "transactions")
    labels = {"grpc_service": TRANSACTIONS, "grpc_method": "Deposit"}

    count = metrics.value("grpc_server_handling_seconds_count", **labels)
    total = metrics.value("grpc_server_handling_seconds_sum", **labels)
    buckets = metrics.buckets("grpc_server_handling_seconds", **labels)
    handled = metrics.value("grpc_server_handled_total", grpc_code="OK", **labels)

    assert count == handled
    assert total > 0
    assert buckets[-1] == (float("inf"), count)
    cumulative = [value for _, value in buckets]
    assert cumulative == sorted(cumulative)


def test_writer_queue_and_batch_sizes(stack, traffic):
    metrics = scrape(stack, "ledger")

    batches = metrics.value("ledger_writer_batch_size_count")
    requests = metrics.value("ledger_writer_batch_size_sum")

    assert metrics.value("ledger_writer_queue_depth") == 0
    assert batches >= 1
    # Each batch commits at least one request; the traffic wrote at least 8.
    assert requests >= batches
    assert requests >= 8
    assert metrics.value("ledger_writer_commit_seconds_count") == batches


def test_feed_subscribers_and_lag_when_idle(stack, traffic):
    def caught_up() -> bool:
        metrics = scrape(stack, "ledger")
        return metrics.value("ledger_feed_max_subscriber_lag") == 0

    assert wait_until(caught_up), "a WatchChanges stream stays behind when idle"
    metrics = scrape(stack, "ledger")
    # One change-feed stream per front end.
    assert metrics.value("ledger_feed_subscribers") == 2
    for service in ("accounts", "transactions"):
        front_end = scrape(stack, service)
        assert front_end.value("feed_connected") == 1
        assert front_end.value("feed_lag_events") == 0
        assert front_end.value("feed_applied_sequence") >= traffic["sequence"]


def test_watch_stream_counts_as_a_subscriber(stack, bank, traffic):
    request = txn.WatchTransactionsRequest(account_id=traffic["account_id"])
    stream = bank.transactions.WatchTransactions(request, timeout=30)
    # Reading in a thread keeps the stream open; cancel() ends it.
    reader = threading.Thread(target=lambda: list(_drain(stream)), daemon=True)
    reader.start()
    try:
        opened = wait_until(
            lambda: scrape(stack, "ledger").value("ledger_feed_subscribers") == 3
        )
        assert opened, "the WatchTransactions stream did not subscribe to the feed"
    finally:
        stream.cancel()
        reader.join(10)

    closed = wait_until(
        lambda: scrape(stack, "ledger").value("ledger_feed_subscribers") == 2
    )
    assert closed, "the feed subscription outlived its WatchTransactions stream"


def _drain(stream):
    try:
        yield from stream
    except grpc.RpcError:
        return
