"""Hypothesis strategies of hostile request values, and checks of the responses.

Each strategy mixes values a careful client would send with the ones a
careless or hostile one would: missing and unknown ids, zero, negative and
huge amounts, unknown and malformed currencies, unicode and oversize text,
bad field masks, wrong versions, malformed and foreign page tokens and
out-of-range sequences. ``Probe`` sends a request and checks that the
response is a documented status with an ErrorInfo reason, and that a
rejected write changed nothing.

``BAD_INPUT_EXAMPLES`` sets the examples per RPC (25 by default, which keeps
``make test`` short; ``make bad-input-test`` runs 300).
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import json
import os
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import ledger_store_pb2_grpc as store_grpc
from bank.ledger.v1 import resources_pb2 as pb
from bank_common import status
from bank_common.validation import MAX_AMOUNT
from db_service import pagination

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
UINT64_MAX = 2**64 - 1

# Every code the three APIs document for a rejected request.
DOCUMENTED_CODES = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.OUT_OF_RANGE,
    }
)

EXAMPLES = int(os.environ.get("BAD_INPUT_EXAMPLES", "25"))

# Requests sent and responses received, by service and status code, for the
# summary that tests/reliability/conftest.py prints.
TALLY: collections.Counter[tuple[str, str]] = collections.Counter()


def fuzz(scale: float = 1.0):
    """Hypothesis settings for one RPC: ``scale`` times EXAMPLES examples."""
    return settings(
        max_examples=max(1, int(EXAMPLES * scale)),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        database=None,
    )


# Strategies. Each field is valid-looking most of the time, so that many
# requests carry one hostile value among valid ones and reach the deeper
# checks, and hostile otherwise.

VALID_SHARE = 0.9


def mostly(valid: st.SearchStrategy, hostile: st.SearchStrategy) -> st.SearchStrategy:
    """Draw from ``valid`` with probability VALID_SHARE, else from ``hostile``."""
    return st.floats(0, 1).flatmap(
        lambda roll: valid if roll < VALID_SHARE else hostile
    )


def ids(known: list[int]) -> st.SearchStrategy[int]:
    """Existing ids, missing ones, 0, negative and extreme int64 values."""
    hostile = st.one_of(
        st.sampled_from([0, -1, INT64_MIN, INT64_MAX, 999_999_999]),
        st.integers(INT64_MIN, INT64_MAX),
    )
    return mostly(st.sampled_from(known), hostile)


def amounts() -> st.SearchStrategy[int]:
    edges = [0, -1, MAX_AMOUNT, MAX_AMOUNT + 1, INT64_MAX, INT64_MIN]
    hostile = st.one_of(st.sampled_from(edges), st.integers(INT64_MIN, INT64_MAX))
    return mostly(st.integers(1, 200_000), hostile)


def currencies() -> st.SearchStrategy[str]:
    listed = ["GBP", "JPY", "XXX", "czk", "", "CZ", "CZKK", "ČZK"]
    hostile = st.one_of(st.sampled_from(listed), st.text(max_size=6))
    return mostly(st.sampled_from(["CZK", "CZK", "EUR"]), hostile)


def money() -> st.SearchStrategy[pb.Money]:
    return st.builds(pb.Money, currency_code=currencies(), minor_units=amounts())


_PRINTABLE = st.characters(blacklist_categories=("Cc", "Cs"))


def texts() -> st.SearchStrategy[str]:
    """Short unicode text, or empty, control characters or oversize text."""
    hostile = st.one_of(
        st.text(max_size=40),
        st.text(min_size=190, max_size=260),
        st.text(min_size=2_000, max_size=5_000),
        st.sampled_from(["\x00", "a\nb", "\u202eevil", "😀" * 201, " " * 300]),
    )
    return mostly(st.one_of(st.just(""), st.text(_PRINTABLE, max_size=30)), hostile)


def request_ids() -> st.SearchStrategy[str]:
    hostile = st.one_of(
        st.just(""),
        st.text(max_size=140),
        st.text(alphabet=string.printable, min_size=129, max_size=200),
        st.just("reused-request-id"),
    )
    return mostly(st.builds(lambda: f"bad-{uuid.uuid4().hex}"), hostile)


def versions() -> st.SearchStrategy[int]:
    hostile = st.one_of(st.integers(-2, 0), st.integers(INT64_MIN, INT64_MAX))
    return mostly(st.integers(1, 4), hostile)


def masks(valid: list[str]) -> st.SearchStrategy[list[str]]:
    odd = ["", "balance", "account_id", "version", "NICKNAME", "a.b", valid[0]]
    paths = st.one_of(st.sampled_from(odd), st.text(max_size=20))
    hostile = st.lists(st.one_of(paths, st.sampled_from(valid)), max_size=4)
    chosen = st.lists(st.sampled_from(valid), min_size=1, max_size=2, unique=True)
    return mostly(chosen, hostile)


def page_sizes() -> st.SearchStrategy[int]:
    hostile = st.one_of(
        st.sampled_from([1001, -1, INT32_MIN, INT32_MAX]),
        st.integers(INT32_MIN, INT32_MAX),
    )
    return mostly(st.integers(0, 1000), hostile)


def page_tokens(queries: list[str]) -> st.SearchStrategy[str]:
    """Empty, garbage, edited and foreign tokens, and tokens carrying odd keys.

    ``queries`` are query strings as ``db_service.pagination`` fingerprints
    them, the request's own first, so some tokens match the request's query.
    """
    keys = st.one_of(
        st.integers(-(2**70), 2**70), st.sampled_from([True, -1, 2**63, 2**64])
    )
    own = st.builds(pagination.encode, st.just(queries[0]), st.integers(0, 10))
    odd_key = st.builds(pagination.encode, st.sampled_from(queries), keys)
    crafted = st.builds(
        _token,
        st.fixed_dictionaries(
            {
                "v": st.sampled_from([1, 2, "1", None]),
                "q": st.text(max_size=16),
                "k": st.one_of(keys, st.floats(), st.text(max_size=5), st.none()),
            }
        ),
    )
    hostile = st.one_of(st.text(max_size=60), odd_key, crafted)
    return mostly(st.one_of(st.just(""), own), hostile)


def _token(body: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


def sequences() -> st.SearchStrategy[int]:
    hostile = st.one_of(st.integers(0, UINT64_MAX), st.just(UINT64_MAX))
    return mostly(st.integers(0, 20), hostile)


def dates() -> st.SearchStrategy[str]:
    odd = ["2024-02-30", "1899-12-31", "0000-01-01", "9999-12-31", "2024-1-1", "x"]
    valid = st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31)).map(
        lambda day: day.isoformat()
    )
    hostile = st.one_of(
        st.sampled_from(odd),
        st.dates().map(lambda day: day.isoformat()),
        st.text(max_size=12),
    )
    return mostly(st.one_of(st.just(""), valid), hostile)


def enums(valid: list[int]) -> st.SearchStrategy[int]:
    hostile = st.one_of(st.integers(-2, 10), st.integers(INT32_MIN, INT32_MAX))
    return mostly(st.sampled_from(valid), hostile)


def timestamps() -> st.SearchStrategy[Timestamp]:
    valid = st.builds(
        Timestamp,
        seconds=st.integers(946_684_800, 1_767_225_600),
        nanos=st.integers(0, 999_999_999),
    )
    hostile = st.builds(
        Timestamp,
        seconds=st.one_of(
            st.integers(INT64_MIN, INT64_MAX),
            st.sampled_from([-62_135_596_801, 253_402_300_800, INT64_MIN, -1, 0]),
        ),
        nanos=st.one_of(st.integers(0, 999_999_999), st.integers(INT32_MIN, INT32_MAX)),
    )
    return mostly(valid, hostile)


def holders(customer_ids: list[int]) -> st.SearchStrategy[list[pb.AccountHolder]]:
    holder = st.builds(
        pb.AccountHolder,
        customer_id=ids(customer_ids),
        role=enums([pb.HOLDER_ROLE_OWNER, pb.HOLDER_ROLE_AUTHORIZED]),
    )
    owner = st.builds(
        pb.AccountHolder,
        customer_id=st.sampled_from(customer_ids),
        role=st.just(pb.HOLDER_ROLE_OWNER),
    )
    return mostly(
        st.lists(owner, min_size=1, max_size=1), st.lists(holder, max_size=22)
    )


def customers(known: Known) -> st.SearchStrategy[pb.Customer]:
    return st.builds(
        pb.Customer,
        customer_id=ids(known.customer_ids),
        full_name=texts(),
        email=st.one_of(texts(), st.just("a@example.com")),
        phone=texts(),
        birth_date=dates(),
        sex=enums([pb.SEX_UNSPECIFIED, pb.SEX_FEMALE, pb.SEX_MALE]),
        region=texts(),
        status=enums([pb.CUSTOMER_STATUS_UNSPECIFIED]),
        version=versions(),
        external_ref=texts(),
    )


def accounts(known: Known) -> st.SearchStrategy[pb.Account]:
    return st.builds(
        pb.Account,
        account_id=ids(known.account_ids),
        currency_code=currencies(),
        type=enums([pb.ACCOUNT_TYPE_CHECKING, pb.ACCOUNT_TYPE_SAVINGS]),
        status=enums([pb.ACCOUNT_STATUS_ACTIVE, pb.ACCOUNT_STATUS_FROZEN]),
        nickname=texts(),
        overdraft_limit=money(),
        balance=money(),
        holders=holders(known.customer_ids),
        version=versions(),
        external_ref=texts(),
        open_time=timestamps(),
    )


def counterparties() -> st.SearchStrategy[pb.Counterparty]:
    return st.builds(pb.Counterparty, bank_code=texts(), account_number=texts())


# Sending and checking.


@dataclass
class Known:
    """Entities created before the hypothesis tests run, for valid-looking ids."""

    customer_ids: list[int] = field(default_factory=list)
    account_ids: list[int] = field(default_factory=list)
    transaction_ids: list[int] = field(default_factory=list)
    versions: dict[int, int] = field(default_factory=dict)
    full_account_id: int = 0
    """A GBP account at the ledger's balance limit of 10**18 minor units."""


class Probe:
    """Sends a request and checks the response against the documented contract."""

    def __init__(self, service: str, ledger_channel: grpc.Channel):
        self.service = service
        self.last_code = ""
        """Name of the status code of the last answer."""
        self._ledger = store_grpc.LedgerStoreServiceStub(ledger_channel)

    def latest_sequence(self) -> int:
        info = self._ledger.GetLedgerInfo(store.GetLedgerInfoRequest(), timeout=10)
        return info.latest_sequence

    def call(self, method: Callable, request, *, write: bool = False):
        """Send a unary request; return the response, or None if rejected."""
        before = self.latest_sequence() if write else 0
        try:
            response = method(request, timeout=15)
        except grpc.RpcError as error:
            self._check_rejection(error, request)
            if write:
                after = self.latest_sequence()
                assert after == before, (
                    f"a rejected {type(request).__name__} committed changes "
                    f"{before + 1} to {after}: {_show(request)}"
                )
            return None
        TALLY[(self.service, "OK")] += 1
        self.last_code = "OK"
        return response

    def stream(self, method: Callable, request, *, wait: float = 1.0):
        """Open a stream and read its first message; a quiet stream is fine."""
        responses = method(request, timeout=wait)
        try:
            first = next(responses)
        except StopIteration:
            first = None
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                TALLY[(self.service, "OK")] += 1
                return None
            self._check_rejection(error, request)
            return None
        finally:
            responses.cancel()
        TALLY[(self.service, "OK")] += 1
        return first

    def _check_rejection(self, error: grpc.RpcError, request) -> None:
        code = error.code()
        TALLY[(self.service, code.name)] += 1
        self.last_code = code.name
        assert code in DOCUMENTED_CODES, (
            f"{type(request).__name__} got {code.name} ({error.details()}) for "
            f"{_show(request)}"
        )
        domain_error = status.error_from_rpc_error(error)
        assert domain_error is not None, (
            f"{type(request).__name__} got {code.name} without an ErrorInfo "
            f"reason: {error.details()}"
        )
        assert domain_error.message, f"{code.name} {domain_error.reason} has no text"


def _show(request) -> str:
    text = str(request).replace("\n", " ")
    return text if len(text) < 600 else text[:600] + "..."
