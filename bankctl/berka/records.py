"""Reading the Berka files: one typed record per row, or an error naming the row.

The files are ``;``-separated with ``"``-quoted strings and one header line
(``data/berka/README.md`` describes every column). Each physical line is one
row, so a row's line number in the file is its position in an error.
Amounts become integer haléř straight from their digits, never through float.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from bank_common.validation import MAX_AMOUNT, MAX_BALANCE
from bankctl.money import format_minor_units, to_minor_units

CZK_DIGITS = 2

# The century of every two-digit year in the data set: its dates here run
# from 1993 to 1997 and its customers were born between 1911 and 1987.
CENTURY = 1900

Record = TypeVar("Record")


@dataclass(frozen=True)
class RowError:
    """A row that cannot be imported, and why."""

    file: str
    line: int
    reason: str
    account_id: int | None = None
    """The account the row belongs to, where the row names one readably."""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"

    def in_folder(self, folder: Path) -> str:
        """Return "FOLDER/FILE:LINE: REASON", the path as whole-file errors show it."""
        return f"{folder / self.file}:{self.line}: {self.reason}"


class SourceFileError(Exception):
    """A file is missing or has the wrong header, so none of its rows can be read."""


@dataclass(frozen=True)
class District:
    district_id: int
    name: str
    line: int


@dataclass(frozen=True)
class Client:
    client_id: int
    birth_date: dt.date
    sex: str
    """"FEMALE" or "MALE", decoded from the birth number."""
    district_id: int
    line: int


@dataclass(frozen=True)
class Account:
    account_id: int
    district_id: int
    frequency: str
    """How often the bank sent statements, in Czech, e.g. "POPLATEK MESICNE"."""
    opened: dt.date
    line: int


@dataclass(frozen=True)
class Disposition:
    disp_id: int
    client_id: int
    account_id: int
    role: str
    """"OWNER" or "DISPONENT" (a person authorised to use the account)."""
    line: int


@dataclass(frozen=True)
class Trans:
    """One row of trans.asc, with its amounts in haléř."""

    trans_id: int
    account_id: int
    date: dt.date
    kind: str
    """TransactionKind name without its prefix, e.g. "DEPOSIT" or "FEE"."""
    amount: int
    """The stated amount, positive; the kind gives the direction."""
    balance: int
    """The bank's balance of the account right after this row."""
    k_symbol: str
    """The purpose code, trimmed; empty when the row has none."""
    bank: str
    account: str
    line: int

    @property
    def is_credit(self) -> bool:
        return self.kind in CREDIT_KINDS


CREDIT_KINDS = frozenset({"DEPOSIT", "INCOMING_PAYMENT", "INTEREST"})
PAYMENT_KINDS = frozenset({"INCOMING_PAYMENT", "OUTGOING_PAYMENT"})
DEBIT_TYPES = frozenset({"VYDAJ", "VYBER"})


def transaction_kind(type_: str, operation: str, k_symbol: str) -> str:
    """Map a row's type, operation and purpose code to a transaction kind.

    ``type_`` is PRIJEM (credit) or VYDAJ/VYBER (debit). Raises ValueError
    for a combination that has no kind here, naming the three values.
    """
    if type_ == "PRIJEM":
        if operation == "VKLAD":
            return "DEPOSIT"
        if operation == "PREVOD Z UCTU":
            return "INCOMING_PAYMENT"
        if operation == "" and k_symbol == "UROK":
            return "INTEREST"
    elif type_ in DEBIT_TYPES:
        if k_symbol == "SANKC. UROK" or (operation == "VYBER" and k_symbol == "SLUZBY"):
            return "FEE"
        if operation in ("VYBER", "VYBER KARTOU"):
            return "WITHDRAWAL"
        if operation == "PREVOD NA UCET":
            return "OUTGOING_PAYMENT"
    raise ValueError(
        f"type {type_!r} with operation {operation!r} and k_symbol {k_symbol!r} "
        "is not a known kind of transaction"
    )


def parse_id(text: str, column: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise ValueError(f"{column} {text!r} is not a positive whole number")
    return int(text)


def parse_date(text: str, column: str) -> dt.date:
    """Parse a YYMMDD date of the 1900s."""
    try:
        if len(text) != 6 or not text.isdigit():
            raise ValueError(text)
        return dt.date(CENTURY + int(text[:2]), int(text[2:4]), int(text[4:]))
    except ValueError:
        raise ValueError(
            f"{column} {text!r} is not a date in the form YYMMDD"
        ) from None


def parse_birth_number(text: str) -> tuple[dt.date, str]:
    """Decode a birth number into the birth date and sex.

    The number is YYMMDD for men and YY(MM+50)DD for women.
    """
    if len(text) != 6 or not text.isdigit():
        raise ValueError(f"birth_number {text!r} is not six digits YYMMDD")
    month = int(text[2:4])
    sex = "MALE"
    if month > 50:
        month -= 50
        sex = "FEMALE"
    try:
        born = dt.date(CENTURY + int(text[:2]), month, int(text[4:]))
    except ValueError:
        raise ValueError(
            f"birth_number {text!r} does not contain a valid date: expected YYMMDD, "
            "with 50 added to the month for women"
        ) from None
    return born, sex


def parse_czk(text: str, column: str) -> int:
    """Parse an amount in CZK with at most two decimals into haléř."""
    try:
        return to_minor_units(text, CZK_DIGITS)
    except ValueError as error:
        raise ValueError(f"{column}: {error}") from None


def district(fields: list[str], line: int) -> District:
    name = fields[1].strip()
    if not name:
        raise ValueError("A2 (district name) is empty")
    return District(parse_id(fields[0], "A1 (district_id)"), name, line)


def client(fields: list[str], line: int) -> Client:
    born, sex = parse_birth_number(fields[1])
    return Client(
        client_id=parse_id(fields[0], "client_id"),
        birth_date=born,
        sex=sex,
        district_id=parse_id(fields[2], "district_id"),
        line=line,
    )


def account(fields: list[str], line: int) -> Account:
    return Account(
        account_id=parse_id(fields[0], "account_id"),
        district_id=parse_id(fields[1], "district_id"),
        frequency=fields[2].strip(),
        opened=parse_date(fields[3], "date"),
        line=line,
    )


def disposition(fields: list[str], line: int) -> Disposition:
    role = fields[3]
    if role not in ("OWNER", "DISPONENT"):
        raise ValueError(f"type {role!r} is neither OWNER nor DISPONENT")
    return Disposition(
        disp_id=parse_id(fields[0], "disp_id"),
        client_id=parse_id(fields[1], "client_id"),
        account_id=parse_id(fields[2], "account_id"),
        role=role,
        line=line,
    )


def trans(fields: list[str], line: int) -> Trans:
    k_symbol = fields[7].strip()
    kind = transaction_kind(fields[3], fields[4], k_symbol)
    amount = parse_czk(fields[5], "amount")
    if amount <= 0:
        raise ValueError(f"amount {fields[5]!r} is not positive")
    if amount > MAX_AMOUNT:
        raise ValueError(
            f"amount {fields[5]} is above the ledger's limit of "
            f"{format_minor_units(MAX_AMOUNT, CZK_DIGITS)} CZK per posting"
        )
    balance = parse_czk(fields[6], "balance")
    if abs(balance) > MAX_BALANCE:
        raise ValueError(
            f"balance {fields[6]} is beyond the ledger's limit of "
            f"{format_minor_units(MAX_BALANCE, CZK_DIGITS)} CZK either side of zero"
        )
    bank, account_number = fields[8].strip(), fields[9].strip()
    if kind in PAYMENT_KINDS and not (bank and account_number):
        raise ValueError(
            f"{kind} without the other bank's code and account number (bank "
            f"{fields[8]!r}, account {fields[9]!r})"
        )
    if kind not in PAYMENT_KINDS:
        bank, account_number = "", ""
    return Trans(
        trans_id=parse_id(fields[0], "trans_id"),
        account_id=parse_id(fields[1], "account_id"),
        date=parse_date(fields[2], "date"),
        kind=kind,
        amount=amount,
        balance=balance,
        k_symbol=k_symbol,
        bank=bank,
        account=account_number,
        line=line,
    )


@dataclass(frozen=True)
class FileSpec:
    """A source file: its name, its header columns and the parser of one row."""

    name: str
    columns: tuple[str, ...]
    parse: Callable[[list[str], int], object]
    account_column: int | None = None
    """Index of the account_id column, if the file has one."""


DISTRICTS = FileSpec("district.asc", tuple(f"A{i}" for i in range(1, 17)), district)
CLIENTS = FileSpec("client.asc", ("client_id", "birth_number", "district_id"), client)
ACCOUNTS = FileSpec(
    "account.asc",
    ("account_id", "district_id", "frequency", "date"),
    account,
    account_column=0,
)
DISPOSITIONS = FileSpec(
    "disp.asc",
    ("disp_id", "client_id", "account_id", "type"),
    disposition,
    account_column=2,
)
TRANSACTIONS = FileSpec(
    "trans.asc",
    (
        "trans_id",
        "account_id",
        "date",
        "type",
        "operation",
        "amount",
        "balance",
        "k_symbol",
        "bank",
        "account",
    ),
    trans,
    account_column=1,
)


def read(folder: Path, spec: FileSpec) -> tuple[list, list[RowError]]:
    """Read every row of one file; return the records and the rows' errors.

    Raises SourceFileError if the file is missing or unreadable, or if its
    header differs or is not ASCII.
    """
    path = folder / spec.name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SourceFileError(f"{path}: file not found") from None
    except OSError as error:
        raise SourceFileError(f"{path}: cannot be read: {error.strerror}") from None
    # bytes.splitlines() splits at \n, \r and \r\n only, as editors count lines.
    lines = data.splitlines()
    try:
        header = _fields(_decode(lines[0])) if lines else []
    except ValueError as error:
        raise SourceFileError(f"{path}:1: invalid header: {error}") from None
    if tuple(header) != spec.columns:
        raise SourceFileError(
            f"{path}:1: header {';'.join(header)!r} differs from the expected "
            f"{';'.join(spec.columns)!r}"
        )
    records, failures = [], []
    for number, line in _numbered(lines):
        try:
            fields = _fields(_decode(line))
            if len(fields) != len(spec.columns):
                raise ValueError(
                    f"has {len(fields)} columns, expected {len(spec.columns)}"
                )
            records.append(spec.parse(fields, number))
        except ValueError as error:
            account_id = _account_id(line, spec.account_column)
            failures.append(RowError(spec.name, number, str(error), account_id))
    return records, failures


def _decode(line: bytes) -> str:
    """Decode one line as ASCII, or raise ValueError naming the first other byte."""
    try:
        return line.decode("ascii")
    except UnicodeDecodeError as error:
        if line.startswith(codecs.BOM_UTF8):
            raise ValueError(
                "the line starts with a UTF-8 byte order mark (bytes 0xef 0xbb "
                "0xbf): save the file as ASCII without one"
            ) from None
        raise ValueError(
            f"byte 0x{line[error.start]:02x} at character position "
            f"{error.start + 1} is not ASCII: the files are ASCII text, so "
            "replace or remove it"
        ) from None


def _account_id(line: bytes, column: int | None) -> int | None:
    """Return the row's account_id if that column contains a valid one.

    The line is split at every ";", because it may be one that failed to
    decode or parse. In every file the account_id column comes before any
    column of free text, so no ";" inside quotes shifts it.
    """
    if column is None:
        return None
    fields = line.decode("ascii", errors="replace").split(";")
    if column >= len(fields):
        return None
    try:
        return parse_id(fields[column].strip('"'), "account_id")
    except ValueError:
        return None


def _numbered(lines: list[bytes]) -> Iterator[tuple[int, bytes]]:
    """Yield the data lines with their line numbers, skipping blank lines."""
    for index, line in enumerate(lines[1:], start=2):
        if line.strip():
            yield index, line


def _fields(line: str) -> list[str]:
    """Split one line into fields, or raise ValueError naming the quote problem.

    Python's csv module words these errors for its own parser, as in
    "';' expected after '\"'", so they are reworded here.
    """
    try:
        return next(csv.reader([line], delimiter=";", quotechar='"', strict=True))
    except csv.Error as error:
        quotes = line.count('"')
        if quotes % 2:
            raise ValueError(
                f"unbalanced quote: the line has {quotes} '\"' characters, so a "
                "quoted field is not closed"
            ) from None
        if '"' in str(error):
            raise ValueError(
                "misplaced quote: a '\"' must open and close a whole field, as in "
                '"VKLAD"'
            ) from None
        raise ValueError(f"cannot be split into fields: {error}") from None
