"""RunAudit through the ledger store's gRPC API."""

import grpc
import pytest

from bank.ledger.v1 import ledger_store_pb2 as store
from tests.support.bank import reason_of


def test_run_audit_is_clean_after_postings(bank):
    source = bank.open_account(overdraft=500)
    destination = bank.open_account()
    bank.deposit(source.account_id, 1_000)
    bank.transfer(source.account_id, destination.account_id, 1_200)

    response = bank.ledger.RunAudit(store.RunAuditRequest(), timeout=30)

    assert list(response.violations) == []
    assert not response.truncated
    assert response.transactions_checked >= 2
    assert response.entries_checked >= 4
    assert response.latest_sequence >= response.oldest_sequence > 0


@pytest.mark.parametrize("max_violations", [-1, 10_001])
def test_run_audit_rejects_bad_max_violations(bank, max_violations):
    request = store.RunAuditRequest(max_violations=max_violations)

    with pytest.raises(grpc.RpcError) as failure:
        bank.ledger.RunAudit(request, timeout=30)

    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(failure.value) == "INVALID_MAX_VIOLATIONS"
