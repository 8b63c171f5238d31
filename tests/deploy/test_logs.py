"""Service logs: JSON lines, one per request, life-cycle events, no personal data."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import field_mask_pb2

from bank.accounts.v1 import account_service_pb2 as acc
from bank.ledger.v1 import resources_pb2 as pb
from bank.transactions.v1 import transaction_service_pb2 as txn
from bank_common.stack import SERVICES, LocalStack
from tests.support.bank import Bank, new_request_id

# Personal data sent in requests; none of it may reach a log line.
PERSONAL = {
    "full_name": "Zdenka Quellmayer-Pribyl",
    "email": "zdenka.quellmayer@example.org",
    "phone": "+420 777 314 159",
    "birth_date": "1961-07-23",
    "region": "Hlinsko-Quellmayer",
}
NEW_EMAIL = "q.pribyl.second@example.org"


@pytest.fixture(scope="module")
def json_stack(tmp_path_factory) -> Iterator[LocalStack]:
    folder = tmp_path_factory.mktemp("json-logs")
    flags = ["--log-format", "json", "--log-level", "DEBUG"]
    local = LocalStack(
        db_path=folder / "ledger.duckdb",
        log_dir=folder / "logs",
        extra_args={service: flags for service in SERVICES},
    )
    try:
        local.start_all()
        yield local
    finally:
        local.stop_all()


@pytest.fixture(scope="module")
def client(json_stack) -> Iterator[Bank]:
    bank = Bank.for_stack(json_stack)
    yield bank
    bank.close()


def records(stack: LocalStack, service: str) -> list[dict]:
    path = Path(stack.log_dir) / f"{service}.log"
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def all_log_text(stack: LocalStack) -> str:
    return "\n".join(
        path.read_text() for path in sorted(Path(stack.log_dir).glob("*.log"))
    )


def wait_for_record(stack, service, predicate, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for record in records(stack, service):
            if predicate(record):
                return record
        time.sleep(0.2)
    raise AssertionError(f"no matching log record from {service} in {timeout}s")


def request_record(stack, service: str, request_id: str) -> dict:
    return wait_for_record(
        stack, service, lambda r: r.get("request_id") == request_id, timeout=5
    )


def test_every_line_is_a_json_object(json_stack, client):
    client.create_customer()

    for service in SERVICES:
        lines = records(json_stack, service)
        assert lines, f"{service} logged nothing"
        for record in lines:
            assert {"asctime", "level", "name", "message"} <= record.keys()
            assert record["service"] in (
                "db_service",
                "account_service",
                "transaction_service",
            )


def test_request_line_has_method_code_duration(json_stack, client):
    request_id = new_request_id("logs")
    client.accounts.CreateCustomer(
        acc.CreateCustomerRequest(
            request_id=request_id, customer=pb.Customer(full_name="Log Line")
        ),
        timeout=10,
    )

    front = request_record(json_stack, "accounts", request_id)
    store = request_record(json_stack, "ledger", request_id)

    assert front["rpc_method"] == "/bank.accounts.v1.AccountService/CreateCustomer"
    assert front["grpc_code"] == "OK"
    assert front["duration_ms"] >= 0
    assert front["level"] == "INFO"
    assert store["rpc_method"] == "/bank.ledger.v1.LedgerStoreService/CreateCustomer"
    assert store["grpc_code"] == "OK"


def test_failed_request_logs_its_code(json_stack, client):
    request_id = new_request_id("logs-bad")
    with pytest.raises(grpc.RpcError):
        client.accounts.CreateCustomer(
            acc.CreateCustomerRequest(request_id=request_id, customer=pb.Customer()),
            timeout=10,
        )

    front = request_record(json_stack, "accounts", request_id)

    assert front["grpc_code"] == "INVALID_ARGUMENT"


def test_start_is_logged_by_every_service(json_stack):
    for service in SERVICES:
        messages = [r["message"] for r in records(json_stack, service)]
        assert any(" listening on 127.0.0.1:" in m for m in messages), service


def test_personal_data_stays_out_of_logs(json_stack, client):
    customer = client.create_customer(
        PERSONAL["full_name"],
        email=PERSONAL["email"],
        phone=PERSONAL["phone"],
        birth_date=PERSONAL["birth_date"],
        region=PERSONAL["region"],
    )
    client.accounts.UpdateCustomer(
        acc.UpdateCustomerRequest(
            request_id=new_request_id("logs-update"),
            customer=pb.Customer(customer_id=customer.customer_id, email=NEW_EMAIL),
            update_mask=field_mask_pb2.FieldMask(paths=["email"]),
            expected_version=customer.version,
        ),
        timeout=10,
    )
    # Rejected requests carry personal data too.
    invalid = [
        pb.Customer(full_name=PERSONAL["full_name"], email="zdenka at example"),
        pb.Customer(full_name=PERSONAL["full_name"], birth_date="23.7.1961"),
        pb.Customer(full_name=PERSONAL["full_name"], phone="7" * 40),
    ]
    for bad in invalid:
        with pytest.raises(grpc.RpcError):
            client.accounts.CreateCustomer(
                acc.CreateCustomerRequest(
                    request_id=new_request_id("logs-invalid"), customer=bad
                ),
                timeout=10,
            )
    client.accounts.GetCustomer(
        acc.GetCustomerRequest(customer_id=customer.customer_id), timeout=10
    )

    text = all_log_text(json_stack)

    for field, value in {**PERSONAL, "new_email": NEW_EMAIL}.items():
        assert value not in text, f"the logs contain the customer's {field}"
    assert "zdenka at example" not in text
    assert "23.7.1961" not in text


def resume_sequence(stack, service: str, since: str) -> int:
    """Wait for the front end to follow the feed again; return where it resumed."""
    resumed = wait_for_record(
        stack,
        service,
        lambda r: (
            "following the change feed after sequence" in r["message"]
            and r["asctime"] >= since
        ),
    )
    return int(resumed["message"].split("after sequence ")[1].split()[0])


def wait_until_applied(client: Bank, sequence: int, timeout: float = 10.0) -> None:
    """Wait until both front ends have applied ``sequence`` from the feed."""
    deadline = time.monotonic() + timeout
    for stub, request in (
        (client.accounts, acc.GetServiceStatusRequest()),
        (client.transactions, txn.GetServiceStatusRequest()),
    ):
        while stub.GetServiceStatus(request, timeout=5).applied_sequence < sequence:
            assert time.monotonic() < deadline, f"sequence {sequence} not applied"
            time.sleep(0.05)


def test_feed_end_and_reconnect_are_logged(json_stack, client):
    sequence = client.deposit(client.open_account().account_id, 100).commit_sequence
    wait_until_applied(client, sequence)

    json_stack.stop("ledger")
    json_stack.start("ledger")

    for service in ("accounts", "transactions"):
        ended = wait_for_record(
            json_stack,
            service,
            lambda r: "ledger store ended the change feed at sequence" in r["message"],
        )
        assert f"at sequence {sequence};" in ended["message"]
        assert resume_sequence(json_stack, service, ended["asctime"]) == sequence
    stops = [r for r in records(json_stack, "ledger") if "stopped" in r["message"]]
    assert stops, "the ledger store did not log its stop"


def test_feed_loss_is_logged_as_warning(json_stack, client):
    sequence = client.deposit(client.open_account().account_id, 100).commit_sequence
    wait_until_applied(client, sequence)

    json_stack.stop("ledger", kill=True)
    json_stack.start("ledger")

    for service in ("accounts", "transactions"):
        lost = wait_for_record(
            json_stack,
            service,
            lambda r: "reading the change feed after sequence" in r["message"],
        )
        assert lost["level"] == "WARNING"
        assert f"after sequence {sequence} from" in lost["message"]
        assert resume_sequence(json_stack, service, lost["asctime"]) == sequence
