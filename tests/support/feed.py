"""A WatchChanges subscriber for tests: a thread that collects events."""

from __future__ import annotations

import threading
import time

import grpc

from bank.ledger.v1 import ledger_store_pb2 as store
from bank.ledger.v1 import ledger_store_pb2_grpc as store_grpc
from bank.ledger.v1 import resources_pb2 as pb


class Subscriber:
    """Reads the ledger store's change feed in a background thread.

    ``pause`` stops reading (the server then has a stalled client) until
    ``resume``. ``channel_options`` go to the client channel, for example a
    small flow-control window so a stall backs up into the server quickly.
    """

    def __init__(
        self,
        ledger_address: str,
        after_sequence: int | None,
        *,
        channel_options: tuple = (),
        **filters,
    ):
        self.events: list[pb.ChangeEvent] = []
        self.latest_seen = 0
        self.error: grpc.RpcError | None = None
        self._channel = grpc.insecure_channel(ledger_address, options=channel_options)
        request = store.WatchChangesRequest(**filters)
        if after_sequence is not None:
            request.after_sequence = after_sequence
        stub = store_grpc.LedgerStoreServiceStub(self._channel)
        self._call = stub.WatchChanges(request)
        self._reading = threading.Event()
        self._reading.set()
        self._lock = threading.Lock()
        self._opened = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        if not self._opened.wait(10):
            raise TimeoutError(f"WatchChanges on {ledger_address} sent nothing in 10s")

    def _read(self) -> None:
        try:
            for message in self._call:
                self._reading.wait()
                with self._lock:
                    self.events.extend(message.events)
                    self.latest_seen = max(self.latest_seen, message.latest_sequence)
                self._opened.set()
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                self.error = error
        finally:
            self._opened.set()

    def pause(self) -> None:
        self._reading.clear()

    def resume(self) -> None:
        self._reading.set()

    def sequences(self) -> list[int]:
        with self._lock:
            return [event.sequence for event in self.events]

    def wait_for(self, sequence: int, timeout: float = 20.0) -> None:
        """Wait until an event with ``sequence`` or later has arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.error is not None:
                raise self.error
            with self._lock:
                if self.events and self.events[-1].sequence >= sequence:
                    return
            time.sleep(0.02)
        last = self.events[-1].sequence if self.events else None
        raise TimeoutError(f"no event up to {sequence} within {timeout}s (last {last})")

    def wait_ended(self, timeout: float) -> bool:
        """Wait for the server to end the stream; return whether it did."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def close(self) -> None:
        self._reading.set()
        self._call.cancel()
        self._thread.join(5)
        self._channel.close()
