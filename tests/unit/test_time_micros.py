"""Range checks of client-supplied protobuf Timestamps."""

from __future__ import annotations

import pytest

from bank_common import validation
from bank_common.errors import InvalidArgument


@pytest.mark.parametrize(
    ("seconds", "nanos"),
    [
        (-(2**63), 0),
        (-(10**15), 0),
        (-2_208_988_801, 0),
        (253_402_300_800, 0),
        (2**63 - 1, 0),
        (0, -1),
        (0, 1_000_000_000),
        (0, 2**31 - 1),
    ],
)
def test_time_micros_rejects_out_of_range(seconds, nanos):
    with pytest.raises(InvalidArgument) as failure:
        validation.time_micros(seconds, nanos, "account.open_time")

    assert failure.value.reason == "INVALID_TIME"
    assert failure.value.field == "account.open_time"


@pytest.mark.parametrize(
    ("seconds", "nanos", "micros"),
    [
        (-2_208_988_800, 0, -2_208_988_800_000_000),
        (0, 999_999_999, 999_999),
        (1_700_000_000, 1_500, 1_700_000_000_000_001),
        (253_402_300_799, 999_999_999, 253_402_300_799_999_999),
    ],
)
def test_time_micros_accepts_range_ends(seconds, nanos, micros):
    assert validation.time_micros(seconds, nanos, "t") == micros
