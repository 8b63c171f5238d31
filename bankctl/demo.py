"""Run make demo: start the services, import the Berka data, print a statement.

The services run on their default ports with a fresh database in data/demo/,
and stop when the demo ends. --free-ports runs them on free loopback ports
instead, next to a stack already on the defaults. The demo deletes and
rebuilds its folder only if the folder is missing, empty, or contains nothing
but files of an earlier demo.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from bank_common.stack import LocalStack, Ports, busy_ports
from bankctl import cli

DEMO_ACCOUNT = "berka:2378"
DATABASE = "ledger.duckdb"
LOGS = "logs"
REPORT = "reconciliation.csv"
# Every file a demo writes in its folder: the database with DuckDB's
# write-ahead log, and the reconciliation report. LOGS is a folder of
# <service>.log files.
DEMO_FILES = frozenset({DATABASE, f"{DATABASE}.wal", REPORT})


def foreign_entries(folder: Path) -> list[str]:
    """List the entries of ``folder`` that a demo does not write, as paths inside it.

    Symbolic links count as foreign, so deleting the folder never follows
    one. A missing folder has none.
    """
    if not folder.exists():
        return []
    foreign = []
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink():
            foreign.append(entry.name)
        elif entry.name in DEMO_FILES and entry.is_file():
            continue
        elif entry.name == LOGS and entry.is_dir():
            foreign.extend(
                f"{LOGS}/{log.name}"
                for log in sorted(entry.iterdir())
                if log.is_symlink() or not (log.suffix == ".log" and log.is_file())
            )
        else:
            foreign.append(entry.name)
    return foreign


def _clear_folder(folder: Path) -> str | None:
    """Delete a folder that contains only demo files. Return the error, or None."""
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        return f"--folder {folder} is not a folder: choose a new or empty folder"
    foreign = foreign_entries(folder)
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        return (
            f"--folder {folder} contains files that a demo does not write "
            f"({shown}), and the demo deletes its folder: choose a new or empty "
            "folder with --folder, or move those files away"
        )
    try:
        shutil.rmtree(folder)
    except FileNotFoundError:
        pass
    except OSError as error:
        return f"cannot delete the demo folder {folder}: {error}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bankctl-demo", description=__doc__)
    parser.add_argument(
        "--folder",
        type=Path,
        default=Path("data/demo"),
        help="folder of the demo's database, logs and reconciliation report "
        "(default data/demo). It is deleted and rebuilt when it is empty or "
        "contains only files of an earlier demo. With any other file in it, the "
        "demo stops before changing anything",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("data/berka"),
        help="folder with the Berka .asc files to import (default data/berka)",
    )
    parser.add_argument(
        "--free-ports", action="store_true", help="use free ports, not the defaults"
    )
    args = parser.parse_args(argv)

    ports = Ports.free() if args.free_ports else Ports.defaults()
    busy = busy_ports(ports)
    if busy:
        # Otherwise bankctl would import into the ledger listening on these ports.
        print(
            f"error: ports in use: {', '.join(busy)}. Stop `make run` first, or "
            "run the demo next to it with `make demo DEMO_ARGS=--free-ports`.",
            file=sys.stderr,
        )
        return 1
    problem = _clear_folder(args.folder)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    stack = LocalStack(args.folder / DATABASE, ports, log_dir=args.folder / LOGS)
    addresses = [
        f"--{service}-addr={ports.address(service)}"
        for service in ("accounts", "transactions", "ledger")
    ]
    print(f"Starting the services; their logs go to {args.folder / LOGS}", flush=True)
    try:
        stack.start_all()
        report = str(args.folder / REPORT)
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
