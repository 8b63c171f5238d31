"""The supervisor of `make run`: restart a crashed service, stop on a clean exit."""

from __future__ import annotations

import signal
import threading
import time

from bank_common.stack import LocalStack, supervise


def test_crashed_service_is_restarted(tmp_path, capsys):
    stack = LocalStack(db_path=tmp_path / "ledger.duckdb", log_dir=tmp_path / "logs")
    stack.start_all()
    supervisor = threading.Thread(target=supervise, args=(stack,), daemon=True)
    try:
        supervisor.start()
        crashed = stack.processes["ledger"]
        crashed.send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 30
        while stack.processes.get("ledger") in (None, crashed):
            assert time.monotonic() < deadline, "the ledger store was not restarted"
            time.sleep(0.1)
        stack.wait_healthy("ledger", 30)

        stack.processes["accounts"].send_signal(signal.SIGTERM)
        supervisor.join(15)

        assert not supervisor.is_alive()
        err = capsys.readouterr().err
        assert "ledger store was ended by signal 9 (SIGKILL); restarting it" in err
        assert "account service exited with status 0" in err
    finally:
        stack.stop_all()
