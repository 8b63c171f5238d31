"""The Berka import through the installed ``bankctl``, against the real services.

The whole data set is imported once per module into a fresh ledger; the
tests then read it back through the public APIs, run the import again, and
import slices of it under other reference prefixes to test interruption and
bad rows without a second full import.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import grpc
import pytest

from bank.accounts.v1 import account_service_pb2 as accounts_api
from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import resources_pb2 as pb
from bank.transactions.v1 import transaction_service_pb2 as transactions_api
from bank_common.stack import LocalStack
from bankctl.importing import DEFAULT_REPORT
from tests.conftest import stack_logs
from tests.support.bank import Bank, reason_of
from tests.support.berka import (
    BERKA,
    last_balances,
    slice_of_real_data,
    write_folder,
)

pytestmark = pytest.mark.e2e

BANKCTL = Path(sys.executable).with_name("bankctl")
RECONCILED_IN_FILE = 179


def run_bankctl(
    stack: LocalStack, *args: str, timeout: float = 240, cwd: Path | None = None
):
    return subprocess.run(
        [str(BANKCTL), *args],
        env=_environment(stack),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def _environment(stack: LocalStack) -> dict[str, str]:
    return dict(
        os.environ,
        ACCOUNTS_ADDR=stack.ports.address("accounts"),
        TRANSACTIONS_ADDR=stack.ports.address("transactions"),
        LEDGER_ADDR=stack.ports.address("ledger"),
    )


def import_folder(stack, folder: Path, report: Path, prefix: str = "berka"):
    """Run the import; return the completed process and its JSON summary."""
    done = run_bankctl(
        stack,
        "--json",
        "import",
        "berka",
        str(folder),
        "--report",
        str(report),
        "--ref-prefix",
        prefix,
        "--no-progress",
    )
    summary = json.loads(done.stdout) if done.stdout.strip() else None
    return done, summary


def latest_sequence(bank: Bank) -> int:
    info = bank.ledger.GetLedgerInfo(store.GetLedgerInfoRequest(), timeout=10)
    return info.latest_sequence


def balances_by_ref(bank: Bank, prefix: str) -> dict[str, int]:
    """Balances of every account whose reference starts with ``prefix:``."""
    balances = {}
    token = ""
    while True:
        page = bank.accounts.ListAccounts(
            accounts_api.ListAccountsRequest(page_size=1000, page_token=token),
            timeout=30,
        )
        for account in page.accounts:
            if account.external_ref.startswith(f"{prefix}:"):
                balances[account.external_ref] = account.balance.minor_units
        token = page.next_page_token
        if not token:
            return balances


def rounded_trans_ids() -> set[str]:
    """Ids of rows whose amount is not the exact movement of the balance.

    Worked out from the file alone: a row is exact when its balance minus
    its signed amount is the balance the account had before it, which is
    either another row's balance on the same day or the last balance of an
    earlier day.
    """
    rows = list(csv.reader((BERKA / "trans.asc").open(), delimiter=";"))[1:]
    by_account: dict[str, list[list[str]]] = {}
    for row in rows:
        by_account.setdefault(row[1], []).append(row)
    rounded = set()
    for account_rows in by_account.values():
        days = sorted({row[2] for row in account_rows})
        end_of_day = {"": 0}
        for day in days:
            day_rows = [row for row in account_rows if row[2] == day]
            previous = end_of_day[max(d for d in end_of_day if d < day)]
            candidates = {_haler(row[6]) for row in day_rows} | {previous}
            for row in day_rows:
                amount = _haler(row[5])
                signed = amount if row[3] == "PRIJEM" else -amount
                if _haler(row[6]) - signed not in candidates:
                    rounded.add(row[0])
            end_of_day[day] = _day_end(day_rows)
    return rounded


def _day_end(day_rows: list[list[str]]) -> int:
    starts = []
    for row in day_rows:
        amount = _haler(row[5])
        starts.append(_haler(row[6]) - (amount if row[3] == "PRIJEM" else -amount))
    for row in day_rows:
        if all(abs(_haler(row[6]) - start) > 10 for start in starts):
            return _haler(row[6])
    raise ValueError(f"no last row among {day_rows}")


def _haler(text: str) -> int:
    whole, _, fraction = text.partition(".")
    units = int(whole.lstrip("-")) * 100 + int(fraction.ljust(2, "0"))
    return -units if text.startswith("-") else units


@pytest.fixture(scope="module")
def full_import(stack, bank, tmp_path_factory):
    """Import the whole data set once; return the process, summary and report."""
    report = tmp_path_factory.mktemp("berka") / "reconciliation.csv"
    started = time.monotonic()
    done, summary = import_folder(stack, BERKA, report)
    assert done.returncode == 0, done.stderr + stack_logs(stack)
    return {
        "summary": summary,
        "report": report,
        "seconds": time.monotonic() - started,
        "balances": balances_by_ref(bank, "berka"),
    }


def test_full_import_counts(full_import):
    summary = full_import["summary"]

    assert summary["customers"] == {"imported": 5369, "new": 5369}
    assert summary["accounts"] == {"imported": 4500, "new": 4500}
    assert summary["transactions"] == {"imported": 3467, "new": 3467}
    assert summary["errors"] == 0
    assert summary["balance_mismatches"] == []
    assert summary["accounts_checked"] == 4500


def test_full_import_balances_match_bank(full_import, bank):
    expected = last_balances()
    balances = full_import["balances"]

    assert len(balances) == 4500
    for account_id in (int(ref.split(":")[1]) for ref in balances):
        assert balances[f"berka:{account_id}"] == expected.get(account_id, 0), (
            account_id
        )


def test_balances_by_external_ref_match_bank(full_import, bank):
    for account_id, balance in last_balances().items():
        account = bank.accounts.GetAccount(
            accounts_api.GetAccountRequest(external_ref=f"berka:{account_id}"),
            timeout=10,
        ).account
        assert account.balance.minor_units == balance, account_id


def test_reconciled_rows_match_file(full_import):
    with full_import["report"].open() as stream:
        report = list(csv.DictReader(stream))
    independent = rounded_trans_ids()

    assert full_import["summary"]["rows_reconciled"] == RECONCILED_IN_FILE
    assert len(report) == RECONCILED_IN_FILE
    assert len(independent) == RECONCILED_IN_FILE
    assert {row["trans_id"] for row in report} == independent
    for row in report:
        assert row["stated_amount"] != row["posted_amount"], row


def test_imported_records_keep_source_data(full_import, bank):
    customer = bank.accounts.GetCustomer(
        accounts_api.GetCustomerRequest(external_ref="berka:1"), timeout=10
    ).customer
    account = bank.accounts.GetAccount(
        accounts_api.GetAccountRequest(external_ref="berka:2"), timeout=10
    ).account
    deposit = bank.transactions.GetTransaction(
        transactions_api.GetTransactionRequest(external_ref="berka:695247"),
        timeout=10,
    ).transaction
    payment = bank.transactions.GetTransaction(
        transactions_api.GetTransactionRequest(external_ref="berka:695340"),
        timeout=10,
    ).transaction

    assert customer.birth_date == "1970-12-13"
    assert customer.sex == pb.SEX_FEMALE
    assert customer.region == "Pisek"
    assert customer.full_name == "Berka client 1"
    assert [holder.role for holder in account.holders] == [
        pb.HOLDER_ROLE_OWNER,
        pb.HOLDER_ROLE_AUTHORIZED,
    ]
    assert account.currency_code == "CZK"
    assert account.open_time.ToDatetime().date().isoformat() == "1993-02-26"
    assert deposit.kind == pb.TRANSACTION_KIND_DEPOSIT
    assert deposit.value_date == "1993-01-01"
    assert deposit.amount.minor_units == 70000
    assert deposit.imported
    assert payment.kind == pb.TRANSACTION_KIND_OUTGOING_PAYMENT
    assert payment.description == "SIPO"
    assert payment.counterparty.bank_code == "EF"
    assert payment.counterparty.account_number == "1222903"


def test_show_account_by_external_ref(full_import, stack):
    done = run_bankctl(stack, "accounts", "show", "--external-ref", "berka:2378")

    assert done.returncode == 0, done.stderr
    assert "berka:2378" in done.stdout
    assert "ACTIVE" in done.stdout


def test_second_import_changes_nothing(full_import, stack, bank, tmp_path):
    before = latest_sequence(bank)

    done, summary = import_folder(stack, BERKA, tmp_path / "again.csv")

    assert done.returncode == 0, done.stderr
    assert latest_sequence(bank) == before
    assert summary["customers"] == {"imported": 5369, "new": 0}
    assert summary["accounts"] == {"imported": 4500, "new": 0}
    assert summary["transactions"] == {"imported": 3467, "new": 0}
    assert summary["transactions_per_second"] == 0.0
    assert summary["rows_reconciled"] == RECONCILED_IN_FILE
    assert summary["balance_mismatches"] == []
    assert balances_by_ref(bank, "berka") == full_import["balances"]
    assert (tmp_path / "again.csv").read_text() == full_import["report"].read_text()


def _busiest_accounts(count: int) -> list[int]:
    rows = list(csv.reader((BERKA / "trans.asc").open(), delimiter=";"))[1:]
    return [int(a) for a, _ in Counter(row[1] for row in rows).most_common(count)]


def _final_state(bank: Bank, prefix: str) -> dict[str, tuple[int, list[tuple]]]:
    """Balance and statement of each account, keyed by the source account id.

    Each statement line is (value date, kind, amount, balance after,
    description), in posting order.
    """
    state = {}
    for ref, balance in balances_by_ref(bank, prefix).items():
        account = bank.accounts.GetAccount(
            accounts_api.GetAccountRequest(external_ref=ref), timeout=10
        ).account
        lines = [
            (
                line.value_date,
                line.kind,
                line.amount.minor_units,
                line.balance_after.minor_units,
                line.description,
            )
            for line in bank.statement(account.account_id)
        ]
        state[ref.split(":", 1)[1]] = (balance, lines)
    return state


def test_killed_import_resumes_to_same_state(stack, bank, tmp_path):
    """SIGKILL an import part-way, run it again, compare with a clean import.

    A slice of the busiest accounts keeps this short; the import treats it
    exactly as the full folder.
    """
    folder = slice_of_real_data(tmp_path / "slice", _busiest_accounts(40))
    done, clean = import_folder(stack, folder, tmp_path / "clean.csv", "clean")
    assert done.returncode == 0, done.stderr
    start = latest_sequence(bank)

    process = subprocess.Popen(
        [
            str(BANKCTL),
            "import",
            "berka",
            str(folder),
            "--ref-prefix",
            "killed",
            "--report",
            str(tmp_path / "killed.csv"),
            "--no-progress",
        ],
        env=_environment(stack),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    full_run = clean["customers"]["new"] + clean["accounts"]["new"]
    full_run += 3 * clean["transactions"]["new"]
    while process.poll() is None and latest_sequence(bank) - start < full_run // 2:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    posted_before_rerun = latest_sequence(bank) - start
    done, resumed = import_folder(stack, folder, tmp_path / "killed.csv", "killed")

    assert process.returncode == -signal.SIGKILL
    assert 0 < posted_before_rerun < full_run
    assert done.returncode == 0, done.stderr
    assert resumed["transactions"]["imported"] == clean["transactions"]["imported"]
    assert 0 < resumed["transactions"]["new"] < clean["transactions"]["imported"]
    assert resumed["balance_mismatches"] == []
    assert latest_sequence(bank) - start == full_run
    killed, cleanly = _final_state(bank, "killed"), _final_state(bank, "clean")
    rows = len((folder / "trans.asc").read_text().splitlines()) - 1
    assert sum(len(lines) for _, lines in killed.values()) == rows
    assert killed == cleanly


def _bad_rows_folder(folder: Path) -> dict[str, str]:
    """A real slice with four bad rows; return the trans_id of each by cause."""
    slice_of_real_data(folder, [2378, 576, 3818, 704])
    path = folder / "trans.asc"
    lines = path.read_text().splitlines()
    header, rows = lines[0], lines[1:]
    by_account: dict[str, list[int]] = {}
    for index, line in enumerate(rows):
        by_account.setdefault(line.split(";")[1], []).append(index)

    def edit(account: str, position: int, column: int, value: str) -> str:
        index = by_account[account][position]
        fields = rows[index].split(";")
        if column < 0:
            fields = fields[:column]
        else:
            fields[column] = value
        rows[index] = ";".join(fields)
        return fields[0]

    causes = {
        "bad date": edit("576", 1, 2, "930231"),
        "non-numeric amount": edit("3818", 1, 5, "12x.00"),
        "wrong column count": edit("704", 1, -1, ""),
    }
    rows.append('999001;424242;930110;"PRIJEM";"VKLAD";100.00;100.00;"";;')
    causes["unknown account"] = "999001"
    path.write_text("\n".join([header, *rows]) + "\n")
    return causes


def test_bad_rows_report_file_line_reason(stack, bank, tmp_path):
    causes = _bad_rows_folder(tmp_path / "bad")
    lines = (tmp_path / "bad" / "trans.asc").read_text().splitlines()
    line_of = {line.split(";")[0]: number for number, line in enumerate(lines, 1)}

    done, summary = import_folder(stack, tmp_path / "bad", tmp_path / "bad.csv", "bad")

    assert done.returncode == 1
    assert summary["errors"] == 4
    expected = {
        "bad date": "date '930231' is not a date",
        "non-numeric amount": "amount: '12x.00' is not a decimal number",
        "wrong column count": "has 9 columns, expected 10",
        "unknown account": "account_id 424242 is not in account.asc",
    }
    for cause, reason in expected.items():
        line = line_of[causes[cause]]
        path = tmp_path / "bad" / "trans.asc"
        assert f"error: {path}:{line}: {reason}" in done.stderr, cause
    for trans_id in causes.values():
        with pytest.raises(grpc.RpcError) as failure:
            bank.transactions.GetTransaction(
                transactions_api.GetTransactionRequest(external_ref=f"bad:{trans_id}"),
                timeout=10,
            )
        assert reason_of(failure.value) == "TRANSACTION_NOT_FOUND"
    balances = balances_by_ref(bank, "bad")
    assert balances["bad:2378"] == last_balances()[2378]
    assert balances["bad:576"] == 0
    assert balances["bad:3818"] == 0


def test_overdrawn_history_imported_as_posted(stack, bank, tmp_path):
    folder = write_folder(
        tmp_path / "overdraft",
        clients=['1;"706213";1'],
        accounts=['10;1;"POPLATEK MESICNE";930101'],
        dispositions=['1;1;10;"OWNER"'],
        trans=[
            '1;10;930101;"PRIJEM";"VKLAD";100.00;100.00;"";;',
            '2;10;930102;"VYDAJ";"VYBER";300.00;-200.00;"";;',
        ],
    )

    done, summary = import_folder(stack, folder, tmp_path / "o.csv", "overdraft")

    assert done.returncode == 0, done.stderr
    assert summary["balance_mismatches"] == []
    assert balances_by_ref(bank, "overdraft") == {"overdraft:10": -200_00}


def test_summary_names_prefix_and_new_rate(stack, tmp_path):
    folder = write_folder(
        tmp_path / "small",
        clients=['1;"706213";1'],
        accounts=['10;1;"POPLATEK MESICNE";930101'],
        dispositions=['1;1;10;"OWNER"'],
        trans=[
            '1;10;930101;"PRIJEM";"VKLAD";100.00;100.00;"";;',
            '2;10;930102;"VYDAJ";"VYBER";30.00;70.00;"";;',
        ],
    )
    command = ("import", "berka", str(folder), "--ref-prefix", "text", "--no-progress")

    first = run_bankctl(stack, *command, cwd=tmp_path)
    again = run_bankctl(stack, *command, cwd=tmp_path)

    assert first.returncode == 0, first.stderr
    assert again.returncode == 0, again.stderr
    for done in (first, again):
        heading = done.stdout.splitlines()[0]
        assert heading == f"Imported {folder} with the reference prefix text"
        assert f"listed in {DEFAULT_REPORT}" in done.stdout
    assert "new transactions per second." in first.stdout
    assert "transactions per second" not in again.stdout
    assert "nothing new: every record was already imported" in again.stdout
    assert (tmp_path / DEFAULT_REPORT).is_file()


def test_rejected_row_counts_later_rows_held_back(stack, tmp_path):
    """The ledger rejects a row whose request id it saw with other content."""
    rows = [
        '1;10;930101;"PRIJEM";"VKLAD";100.00;100.00;"";;',
        '2;10;930102;"VYDAJ";"VYBER";30.00;70.00;"";;',
        '3;10;930103;"PRIJEM";"VKLAD";5.00;75.00;"";;',
        '4;10;930104;"PRIJEM";"VKLAD";5.00;80.00;"";;',
    ]
    account = {
        "clients": ['1;"706213";1'],
        "accounts": ['10;1;"POPLATEK MESICNE";930101'],
        "dispositions": ['1;1;10;"OWNER"'],
    }
    original = write_folder(tmp_path / "original", **account, trans=rows)
    changed_row = rows[0].replace('"";;', '"XYZ";;')
    changed = write_folder(
        tmp_path / "changed", **account, trans=[changed_row, *rows[1:]]
    )
    command = ("import", "berka", "--ref-prefix", "held", "--no-progress")

    first = run_bankctl(stack, *command[:2], str(original), *command[2:], cwd=tmp_path)
    text = run_bankctl(stack, *command[:2], str(changed), *command[2:], cwd=tmp_path)
    done, summary = import_folder(stack, changed, tmp_path / "changed.csv", "held")

    assert first.returncode == 0, first.stderr
    assert text.returncode == 1
    assert "the account's 3 later rows were not posted" in text.stderr
    assert "held back by errors: 0 accounts, 3 transactions (1 error above)" in (
        text.stdout
    )
    assert done.returncode == 1
    assert summary["held_back"] == {"accounts": 0, "transactions": 3}
    assert summary["errors"] == 1
    assert summary["accounts_checked"] == 0
    assert summary["balance_mismatches"] == []
