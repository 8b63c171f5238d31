"""Entry point of ``bankctl``, the operator's command-line tool.

bankctl talks to the running services over gRPC and never opens the
database. Each command group lives in its own module, whose ``register``
function adds its sub-commands to the parser and sets ``handler`` on each.
A new group is one more module in ``COMMAND_GROUPS``.

Exit status: 0 on success, 1 when a service rejected the request or the
command failed, 2 for a command line that does not parse, 130 after Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import grpc

from bankctl import accounts, customers, importing, payments, statements
from bankctl.connection import (
    ADDRESS_VARIABLES,
    DEFAULT_ADDRESSES,
    Services,
    describe_error,
)
from bankctl.context import CommandError, Context
from bankctl.output import Output

COMMAND_GROUPS = (customers, accounts, payments, statements, importing)

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


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
            help=f"host:port of the {service} service (env {variable}, "
            f"default {default})",
        )
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="deadline of each call in seconds (default 10)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
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
        print(f"error: {describe_error(error)}", file=sys.stderr)
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
