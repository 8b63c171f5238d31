"""Entry point of ``bankctl``, the operator's command-line tool.

bankctl talks to the running services over gRPC and never opens the
database. Each command group lives in its own module, whose ``register``
function adds its sub-commands to the parser and sets ``handler`` on each.
A new group is one more module in ``COMMAND_GROUPS``.

Exit status: 0 on success, 1 when a service rejected the request or the
command failed, 2 for a command line that does not parse, 130 after Ctrl-C.
It is 141 when the reader of the output closed it early, as ``head`` does:
128 + SIGPIPE is the status a shell reports for a program killed by SIGPIPE.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence

import grpc

from bankctl import accounts, audit, customers, importing, payments, statements
from bankctl.connection import (
    ADDRESS_VARIABLES,
    DEFAULT_ADDRESSES,
    Services,
    address_type,
    describe_error,
    timeout_advice,
)
from bankctl.context import CommandError, Context
from bankctl.output import Output

COMMAND_GROUPS = (customers, accounts, payments, statements, importing, audit)

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

# Bounds of --timeout in seconds. NOTE: both are sanity limits, not tuned.
# A deadline under a millisecond can only be a typing mistake. Far above a
# day, gRPC's deadline overflows: with grpcio 1.85.3, a timeout of 1e9 s
# worked and 1e10 s failed every call with DEADLINE_EXCEEDED.
MIN_TIMEOUT = 0.001
MAX_TIMEOUT = 86_400.0


def timeout_seconds(text: str) -> float:
    """argparse type of --timeout: seconds from MIN_TIMEOUT to MAX_TIMEOUT."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds, such as 10 or 2.5"
        ) from None
    if not (math.isfinite(seconds) and MIN_TIMEOUT <= seconds <= MAX_TIMEOUT):
        raise argparse.ArgumentTypeError(
            f"{text} is out of range: use {MIN_TIMEOUT:g} to {MAX_TIMEOUT:g} seconds"
        )
    return seconds


def build_parser() -> argparse.ArgumentParser:
    # --json is accepted before the command and after it; the copy on each
    # sub-command leaves the value alone unless given there.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print JSON instead of tables",
    )
    parser = argparse.ArgumentParser(
        prog="bankctl",
        description="Operate the bank ledger through its gRPC services.",
    )
    parser.add_argument(
        "--json", action="store_true", help="print JSON instead of tables"
    )
    for service in ("accounts", "transactions", "ledger"):
        variable = ADDRESS_VARIABLES[service]
        default = DEFAULT_ADDRESSES[service]
        parser.add_argument(
            f"--{service}-addr",
            default=os.environ.get(variable, default),
            type=address_type(service),
            metavar="HOST:PORT",
            help=f"host:port of the {service} service (env {variable}, "
            f"default {default})",
        )
    parser.add_argument(
        "--timeout",
        type=timeout_seconds,
        default=10.0,
        metavar="SECONDS",
        help=f"deadline of each call in seconds, {MIN_TIMEOUT:g} to {MAX_TIMEOUT:g} "
        "(default 10)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one bankctl command and return its exit status."""
    try:
        try:
            return _run(argv)
        finally:
            # Flushing here, not at exit, lets a closed pipe surface as the
            # BrokenPipeError caught below.
            sys.stdout.flush()
    except BrokenPipeError:
        # Point stdout at devnull, as the signal module's note on SIGPIPE
        # advises, so the flush at interpreter exit cannot print a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    services = Services(
        {
            "accounts": args.accounts_addr,
            "transactions": args.transactions_addr,
            "ledger": args.ledger_addr,
        },
        timeout=args.timeout,
    )
    context = Context(services, Output(as_json=args.json))
    try:
        return args.handler(args, context) or 0
    except grpc.RpcError as error:
        message = describe_error(error)
        advice = timeout_advice(error, args.timeout)
        if advice:
            message += f". {advice}"
        print(f"error: {message}", file=sys.stderr)
        return EXIT_FAILED
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        services.close()


if __name__ == "__main__":
    sys.exit(main())
