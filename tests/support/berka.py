"""Folders in the Berka format for tests: hand-written rows or real slices."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BERKA = REPO / "data" / "berka"

HEADERS = {
    "district.asc": ";".join(f"A{i}" for i in range(1, 17)),
    "client.asc": '"client_id";"birth_number";"district_id"',
    "account.asc": '"account_id";"district_id";"frequency";"date"',
    "disp.asc": '"disp_id";"client_id";"account_id";"type"',
    "trans.asc": '"trans_id";"account_id";"date";"type";"operation";"amount";'
    '"balance";"k_symbol";"bank";"account"',
}
DISTRICT_ROW = (
    '1;"Hl.m. Praha";"Prague";1204953;0;0;0;1;1;100.0;12541;0.29;0.43;167;85677;99107'
)


def write_folder(
    folder: Path,
    *,
    clients: Sequence[str],
    accounts: Sequence[str],
    dispositions: Sequence[str],
    trans: Sequence[str],
    districts: Sequence[str] = (DISTRICT_ROW,),
) -> Path:
    """Write the five files with their headers and the given data lines."""
    folder.mkdir(parents=True, exist_ok=True)
    contents = {
        "district.asc": districts,
        "client.asc": clients,
        "account.asc": accounts,
        "disp.asc": dispositions,
        "trans.asc": trans,
    }
    for name, lines in contents.items():
        (folder / name).write_text("\n".join([HEADERS[name], *lines]) + "\n")
    return folder


def _data_lines(name: str) -> list[str]:
    return (BERKA / name).read_text().splitlines()[1:]


def _column(line: str, index: int) -> str:
    return next(csv.reader([line], delimiter=";"))[index]


def slice_of_real_data(folder: Path, account_ids: Iterable[int]) -> Path:
    """Copy the rows of some real accounts: their clients, dispositions, history."""
    wanted = {str(account_id) for account_id in account_ids}
    dispositions = [
        line for line in _data_lines("disp.asc") if _column(line, 2) in wanted
    ]
    client_ids = {_column(line, 1) for line in dispositions}
    return write_folder(
        folder,
        districts=_data_lines("district.asc"),
        clients=[
            line for line in _data_lines("client.asc") if _column(line, 0) in client_ids
        ],
        accounts=[
            line for line in _data_lines("account.asc") if _column(line, 0) in wanted
        ],
        dispositions=dispositions,
        trans=[line for line in _data_lines("trans.asc") if _column(line, 1) in wanted],
    )


def last_balances() -> dict[int, int]:
    """The bank's balance of each account after its last row, in haléř.

    The last row of an account's last day is the one whose balance no other
    row of that day starts from, where a row starts from its balance minus
    its signed amount, give or take the 0.10 CZK of a rounded amount.
    """
    by_day: dict[int, dict[str, list[tuple[int, int, str]]]] = {}
    for line in _data_lines("trans.asc"):
        fields = next(csv.reader([line], delimiter=";"))
        amount = _haler(fields[5])
        signed = amount if fields[3] == "PRIJEM" else -amount
        balance = _haler(fields[6])
        days = by_day.setdefault(int(fields[1]), {})
        days.setdefault(fields[2], []).append((balance, signed, fields[0]))
    finals = {}
    for account_id, days in by_day.items():
        rows = days[max(days)]
        starts = [balance - signed for balance, signed, _ in rows]
        ends = [
            balance
            for balance, _, _ in rows
            if all(abs(balance - start) > 10 for start in starts)
        ]
        if len(ends) != 1:
            raise ValueError(f"account {account_id}: last row is ambiguous: {rows}")
        finals[account_id] = ends[0]
    return finals


def _haler(text: str) -> int:
    whole, _, fraction = text.partition(".")
    units = int(whole.lstrip("-")) * 100 + int(fraction.ljust(2, "0"))
    return -units if text.startswith("-") else units
