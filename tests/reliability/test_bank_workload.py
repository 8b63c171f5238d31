"""Short runs of the bank workload and the crash test, for ``make test``."""

from __future__ import annotations

import pytest

from tests.reliability import bank_workload, crash_test
from tests.reliability.workload import Options

pytestmark = pytest.mark.e2e


def test_bank_workload_short_run_finds_no_violation(tmp_path):
    workload = bank_workload.run(Options(duration=10.0, seed=7), tmp_path)

    assert workload.figures.violations == []
    assert workload.figures.counts["acknowledged"] > 100
    assert workload.figures.rejections["INSUFFICIENT_FUNDS"] > 0
    assert workload.figures.counts["statements read"] > 0
    assert workload.figures.counts["balance snapshots read"] > 0
    assert workload.figures.counts["final statements checked"] == 50
    assert workload.figures.counts["audits run"] == 2


def test_crash_test_short_run_finds_no_violation(tmp_path):
    faults = crash_test.Faults(ledger_kills=2, front_kills=1, max_gap=1.5)

    workload = crash_test.run(Options(seed=11), faults, tmp_path)

    assert workload.figures.violations == []
    assert workload.figures.counts["kill -9 of ledger"] == 2
    assert workload.figures.counts["kill -9 of accounts"] == 1
    assert workload.figures.counts["kill -9 of transactions"] == 1
    assert workload.figures.counts["acknowledged postings checked after a restart"] > 0
    assert workload.figures.counts["audits run"] == 3
