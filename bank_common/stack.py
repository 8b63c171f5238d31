"""Run the three services as local processes.

``make run`` uses this to start the stack in the foreground, and the
end-to-end tests use ``LocalStack`` to start, kill and restart services on
free loopback ports.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVICES = ("ledger", "accounts", "transactions")
MODULES = {
    "ledger": "db_service",
    "accounts": "account_service",
    "transactions": "transaction_service",
}


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port(taken: set[int] = frozenset()) -> int:
    """Return a free loopback port below the ephemeral range, not in ``taken``.

    Ports from bind(0) come from the ephemeral range, which outgoing
    connections also use. A service restarted on such a port could find it
    held by some client's connection, so this picks from below that range.
    """
    low, _ = _ephemeral_range()
    for _ in range(200):
        port = random.randint(10_000, low - 1)
        if port in taken:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise OSError(f"no free port found between 10000 and {low - 1}")


@dataclass
class Ports:
    """gRPC and metrics ports of the three services."""

    grpc: dict[str, int]
    metrics: dict[str, int]

    @classmethod
    def defaults(cls) -> Ports:
        return cls(
            grpc={"ledger": 50051, "accounts": 50052, "transactions": 50053},
            metrics={"ledger": 9151, "accounts": 9152, "transactions": 9153},
        )

    @classmethod
    def free(cls) -> Ports:
        taken: set[int] = set()
        ports = []
        for _ in range(2 * len(SERVICES)):
            ports.append(free_port(taken))
            taken.add(ports[-1])
        return cls(
            grpc=dict(zip(SERVICES, ports[: len(SERVICES)], strict=True)),
            metrics=dict(zip(SERVICES, ports[len(SERVICES) :], strict=True)),
        )

    def address(self, service: str) -> str:
        return f"127.0.0.1:{self.grpc[service]}"


@dataclass
class LocalStack:
    """The ledger store, account service and transaction service as processes."""

    db_path: Path
    ports: Ports = field(default_factory=Ports.free)
    log_dir: Path | None = None
    """Each service's output goes to <log_dir>/<service>.log; None inherits ours."""
    extra_args: dict[str, list[str]] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def command(self, service: str) -> list[str]:
        args = [
            sys.executable,
            "-m",
            MODULES[service],
            "--listen",
            self.ports.address(service),
            "--metrics-address",
            f"127.0.0.1:{self.ports.metrics[service]}",
        ]
        if service == "ledger":
            args += ["--db-path", str(self.db_path)]
        else:
            args += ["--ledger-address", self.ports.address("ledger")]
        return args + self.extra_args.get(service, [])

    def start(self, service: str, timeout: float = 30.0) -> None:
        """Start one service and wait until its health check reports SERVING."""
        output = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = open(self.log_dir / f"{service}.log", "ab")  # noqa: SIM115
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.processes[service] = subprocess.Popen(
            self.command(service), stdout=output, stderr=output, env=env
        )
        if output is not None:
            output.close()
        self.wait_healthy(service, timeout)
        # A SERVING response may come from another process on the same port.
        if self.processes[service].poll() is not None:
            raise RuntimeError(
                f"{NAMES[service]} {_ended(self.processes[service].returncode)} "
                f"while starting{self._log_tail(service)}"
            )

    def start_all(self, timeout: float = 30.0) -> None:
        for service in SERVICES:
            self.start(service, timeout)

    def wait_healthy(self, service: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        address = self.ports.address(service)
        with grpc.insecure_channel(address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while True:
                process = self.processes.get(service)
                if process is not None and process.poll() is not None:
                    raise RuntimeError(
                        f"{NAMES[service]} {_ended(process.returncode)} while "
                        f"starting{self._log_tail(service)}"
                    )
                try:
                    reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"{service} at {address} not healthy in {timeout}s"
                    )
                time.sleep(0.1)

    def _log_tail(self, service: str, lines: int = 20) -> str:
        """Return the end of the service's log for an error message, if logged."""
        if self.log_dir is None:
            return ""
        path = self.log_dir / f"{service}.log"
        if not path.exists():
            return ""
        tail = path.read_text(errors="replace").splitlines()[-lines:]
        return f"; the end of {path}:\n" + "\n".join(tail)

    def stop(self, service: str, *, kill: bool = False, timeout: float = 15.0) -> int:
        """Stop one service with SIGTERM (or SIGKILL) and return its exit code."""
        process = self.processes.pop(service, None)
        if process is None:
            return 0
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()

    def stop_all(self) -> None:
        for service in reversed(SERVICES):
            self.stop(service)


NAMES = {
    "ledger": "ledger store",
    "accounts": "account service",
    "transactions": "transaction service",
}
# A service that crashes more often than this within RESTART_WINDOW seconds
# is not restarted again.
MAX_RESTARTS = 5
RESTART_WINDOW = 60.0


def busy_ports(ports: Ports) -> list[str]:
    """Return a description of each port in ``ports`` that something holds."""
    busy = []
    for kind, table in (("gRPC", ports.grpc), ("metrics", ports.metrics)):
        for service, port in table.items():
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    busy.append(f"{port} ({NAMES[service]} {kind})")
    return busy


def _ended(code: int) -> str:
    """Describe a Popen return code: an exit status, or the signal that ended it."""
    if code < 0:
        return f"was ended by signal {-code} ({signal.Signals(-code).name})"
    return f"exited with status {code}"


def supervise(stack: LocalStack) -> None:
    """Restart a service that crashes; return when one stops cleanly.

    A crash is an exit that no SIGINT or SIGTERM asked for, kill -9
    included. The two front services reconnect to a restarted ledger store
    by themselves.
    """
    crashes: dict[str, list[float]] = {service: [] for service in SERVICES}
    while True:
        time.sleep(0.5)
        for service, process in list(stack.processes.items()):
            code = process.poll()
            if code is None:
                continue
            if code in (0, -signal.SIGINT, -signal.SIGTERM):
                print(f"{NAMES[service]} {_ended(code)}", file=sys.stderr)
                return
            now = time.monotonic()
            recent = [t for t in crashes[service] if now - t < RESTART_WINDOW]
            crashes[service] = [*recent, now]
            if len(recent) >= MAX_RESTARTS:
                raise RuntimeError(
                    f"{NAMES[service]} crashed {len(recent) + 1} times within "
                    f"{RESTART_WINDOW:.0f}s (last {_ended(code)}); not restarting it"
                )
            print(
                f"{NAMES[service]} {_ended(code)}; restarting it",
                file=sys.stderr,
                flush=True,
            )
            del stack.processes[service]
            stack.start(service)
            print(
                f"{NAMES[service]} is back on {stack.ports.address(service)}",
                file=sys.stderr,
                flush=True,
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="bank-stack",
        description="Start the ledger store, account service and transaction service "
        "on their default ports and restart any that crashes; Ctrl-C stops all "
        "three.",
    )
    parser.add_argument(
        "--db-path",
        default=os.environ.get("LEDGER_DB_PATH", "data/ledger.duckdb"),
        help="DuckDB file of the ledger store (env LEDGER_DB_PATH, "
        "default data/ledger.duckdb)",
    )
    args = parser.parse_args(argv)
    stack = LocalStack(Path(args.db_path), Ports.defaults())
    busy = busy_ports(stack.ports)
    if busy:
        sys.exit(
            f"error: ports in use: {', '.join(busy)}. Is `make run` already running? "
            "Stop it first."
        )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    failed = False
    try:
        stack.start_all()
        print("\nThe ledger is running:", flush=True)
        print(
            f"  ledger store         {stack.ports.address('ledger')}  (file "
            f"{args.db_path})"
        )
        print(f"  account service      {stack.ports.address('accounts')}")
        print(f"  transaction service  {stack.ports.address('transactions')}")
        print("  metrics              http://127.0.0.1:9151/metrics, :9152, :9153")
        print(
            "Try: grpcurl -plaintext 127.0.0.1:50052 list    Ctrl-C stops all three.\n",
            flush=True,
        )
        supervise(stack)
        failed = True
    except KeyboardInterrupt:
        print("stopping the three services", file=sys.stderr)
    except (RuntimeError, TimeoutError) as error:
        print(f"error: {error}", file=sys.stderr)
        failed = True
    finally:
        stack.stop_all()
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
