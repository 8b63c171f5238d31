"""``bankctl audit``: check the whole ledger against its invariants.

The ledger store runs every check of RunAudit in one read snapshot: balances
against their entries, transactions and currencies summing to zero, debits
past the overdraft limit, gaps and duplicates in the change log, and entries
pointing to missing rows. The command prints what was checked and each
violation, and exits with 1 when there is any.
"""

from __future__ import annotations

import argparse

from bank.ledger.v1 import ledger_store_pb2 as store
from bankctl.context import Context, whole_number
from bankctl.output import message_to_dict

EXIT_VIOLATIONS = 1
_KIND_PREFIX = "AUDIT_VIOLATION_KIND_"


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser):
    audit = commands.add_parser(
        "audit",
        help="check the whole ledger for broken invariants; exit 1 on any",
        parents=[common],
    )
    audit.add_argument(
        "--max-violations",
        type=whole_number,
        default=0,
        help="maximum number of violations to list, 1 to 10000 (default 0: the "
        "ledger store's default of 1000)",
    )
    audit.set_defaults(handler=run_audit)


def kind_name(kind: int) -> str:
    return store.AuditViolationKind.Name(kind).removeprefix(_KIND_PREFIX).lower()


def run_audit(args: argparse.Namespace, context: Context) -> int:
    """Print the audit's figures and violations; return 1 if it found any.

    A large ledger can take longer than the default deadline of 10 s: raise
    it with --timeout.
    """
    response = context.services.ledger.RunAudit(
        store.RunAuditRequest(max_violations=args.max_violations),
        timeout=context.timeout,
    )
    failed = bool(response.violations) or response.truncated
    if context.output.as_json:
        context.output.json(message_to_dict(response))
        return EXIT_VIOLATIONS if failed else 0
    output = context.output
    output.line(
        f"checked {response.accounts_checked} accounts, "
        f"{response.transactions_checked} transactions, "
        f"{response.entries_checked} entries and change-log sequences "
        f"{response.oldest_sequence} to {response.latest_sequence}"
    )
    if not failed:
        output.line("no violations: the ledger is consistent")
        return 0
    rows = [
        (
            kind_name(violation.kind),
            str(violation.account_id or ""),
            str(violation.transaction_id or ""),
            str(violation.sequence or ""),
            violation.message,
        )
        for violation in response.violations
    ]
    output.table(("violation", "account", "transaction", "sequence", "message"), rows)
    more = " (and more not listed)" if response.truncated else ""
    output.line(f"{len(response.violations)} violations found{more}")
    return EXIT_VIOLATIONS
