"""``make demo``: start the services, import the Berka data, print a statement.

The services run on their default ports with a fresh database in
``data/demo/``, and stop when the demo ends. ``--free-ports`` runs them on
free loopback ports instead, next to a stack already on the defaults.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from bank_common.stack import LocalStack, Ports, busy_ports
from bankctl import cli

DEMO_ACCOUNT = "berka:2378"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bankctl-demo", description=__doc__)
    parser.add_argument(
        "--folder", type=Path, default=Path("data/demo"), help="deleted and rebuilt"
    )
    parser.add_argument("--data", type=Path, default=Path("data/berka"))
    parser.add_argument(
        "--free-ports", action="store_true", help="use free ports, not the defaults"
    )
    args = parser.parse_args(argv)

    ports = Ports.free() if args.free_ports else Ports.defaults()
    busy = busy_ports(ports)
    if busy:
        # Otherwise bankctl would import into whatever answers on these ports.
        print(
            f"error: ports in use: {', '.join(busy)}. Stop `make run` first, or "
            "run the demo next to it with `make demo DEMO_ARGS=--free-ports`.",
            file=sys.stderr,
        )
        return 1
    shutil.rmtree(args.folder, ignore_errors=True)
    stack = LocalStack(
        args.folder / "ledger.duckdb", ports, log_dir=args.folder / "logs"
    )
    addresses = [
        f"--{service}-addr={ports.address(service)}"
        for service in ("accounts", "transactions", "ledger")
    ]
    print(f"Starting the services; their logs go to {args.folder / 'logs'}", flush=True)
    try:
        stack.start_all()
        report = str(args.folder / "reconciliation.csv")
        steps = (
            ["import", "berka", str(args.data), "--report", report],
            ["accounts", "show", "--external-ref", DEMO_ACCOUNT],
            ["statement", DEMO_ACCOUNT],
        )
        for step in steps:
            print(f"\n$ bankctl {' '.join(step)}", flush=True)
            status = cli.main([*addresses, *step])
            if status:
                return status
        return 0
    finally:
        stack.stop_all()


if __name__ == "__main__":
    sys.exit(main())
