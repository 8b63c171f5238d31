"""``bankctl import berka DIR``: load a bank's history in the Berka format."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

from tqdm import tqdm

from bankctl.berka import plan as berka_plan
from bankctl.berka import records, report
from bankctl.berka.loader import (
    MAX_PREFIX,
    Loader,
    LoadInterrupted,
    LoadResult,
    References,
    check_prefix,
)
from bankctl.berka.records import SourceFileError
from bankctl.context import CommandError, Context, whole_number
from bankctl.money import format_minor_units

DEFAULT_WORKERS = 32
# Under data/, beside the ledger's own files, and ignored by git like them.
DEFAULT_REPORT = Path("data/reports/berka-reconciliation.csv")


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser):
    group = commands.add_parser(
        "import", help="load customers, accounts and history", parents=[common]
    )
    formats = group.add_subparsers(dest="format", required=True, metavar="FORMAT")
    berka = formats.add_parser(
        "berka",
        help="a folder in the format of the Czech PKDD'99 (Berka) data set",
        parents=[common],
        description="Import clients, accounts, dispositions and transactions. A "
        "rerun changes nothing, and a rerun after an interruption continues it.",
    )
    berka.add_argument("folder", type=Path, help="folder with the .asc files")
    berka.add_argument(
        "--report",
        type=Path,
        default=DEFAULT_REPORT,
        help="CSV file listing rows posted with an amount other than the stated "
        f"one; missing folders are created (default {DEFAULT_REPORT})",
    )
    berka.add_argument(
        "--ref-prefix",
        default="berka",
        type=_reference_prefix,
        metavar="PREFIX",
        help="prefix of external references and request ids, as in berka:2378: "
        f"1 to {MAX_PREFIX} printable ASCII characters without spaces (default "
        "berka). A second data set needs its own",
    )
    berka.add_argument(
        "--workers",
        type=whole_number,
        default=DEFAULT_WORKERS,
        help=f"accounts loaded at once (default {DEFAULT_WORKERS})",
    )
    berka.add_argument(
        "--tolerance",
        default="0.10",
        help="largest difference in CZK between a row's amount and the movement "
        "of the bank's balance that counts as rounding (default 0.10)",
    )
    berka.add_argument(
        "--dry-run",
        action="store_true",
        help="check the files and write the report, but send nothing",
    )
    berka.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="hide the progress bar, which shows only on a terminal anyway",
    )
    berka.set_defaults(handler=import_berka)


def _reference_prefix(text: str) -> str:
    """argparse type of --ref-prefix, so a bad prefix fails before any row is read."""
    try:
        return check_prefix(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def import_berka(args: argparse.Namespace, context: Context) -> int:
    """Plan, report, load and summarise; return 1 if any row failed, else 0."""
    if args.workers < 1:
        raise CommandError(f"--workers is {args.workers}: use 1 or more")
    plan = _build_plan(args)
    for error in plan.errors:
        print(f"error: {error.in_folder(plan.folder)}", file=sys.stderr)
    reconciled = _write_report(args.report, plan)
    if args.dry_run:
        _print_plan(context, args, plan, reconciled)
        return 1 if plan.errors else 0

    started = time.monotonic()
    result = _load(context, args, plan)
    elapsed = time.monotonic() - started
    for failure in result.failures:
        print(f"error: {failure}", file=sys.stderr)
    summary = _summary(args, plan, result, reconciled, elapsed)
    _print_summary(context, summary)
    failed = plan.errors or result.failures or result.balance_mismatches
    return 1 if failed else 0


def _build_plan(args: argparse.Namespace) -> berka_plan.ImportPlan:
    try:
        tolerance = records.parse_czk(args.tolerance, "--tolerance")
    except ValueError as error:
        raise CommandError(str(error)) from None
    if tolerance < 0:
        raise CommandError(f"--tolerance is {args.tolerance}: use 0 or more")
    try:
        return berka_plan.build(args.folder, tolerance)
    except SourceFileError as error:
        raise CommandError(str(error)) from None


def _write_report(path: Path, plan: berka_plan.ImportPlan) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return report.write(path, plan.postings)
    except OSError as error:
        raise CommandError(
            f"cannot write the reconciliation report {path}: {error.strerror}: "
            "choose another file with --report"
        ) from None


def _load(
    context: Context, args: argparse.Namespace, plan: berka_plan.ImportPlan
) -> LoadResult:
    total = len(plan.customers) + len(plan.accounts) + plan.transaction_count
    lock = threading.Lock()
    with tqdm(
        total=total,
        unit="row",
        desc="importing",
        disable=None if args.progress else True,
        file=sys.stderr,
    ) as bar:

        def advance(count: int) -> None:
            if count:
                with lock:
                    bar.update(count)

        loader = Loader(
            context.services,
            plan,
            refs=References(args.ref_prefix),
            workers=args.workers,
            on_progress=advance,
        )
        try:
            return loader.run()
        except LoadInterrupted as error:
            raise CommandError(f"import stopped: {error}") from None
        except KeyboardInterrupt:
            print(
                "interrupted: what committed stays, and running the same command "
                "again continues from there",
                file=sys.stderr,
            )
            raise


def _summary(
    args: argparse.Namespace,
    plan: berka_plan.ImportPlan,
    result: LoadResult,
    reconciled: int,
    elapsed: float,
) -> dict:
    def tally(done: int, new: int) -> dict:
        return {"imported": done, "new": new}

    return {
        "folder": str(args.folder),
        "reference_prefix": args.ref_prefix,
        "customers": tally(result.customers.done, result.customers.new),
        "accounts": tally(result.accounts.done, result.accounts.new),
        "transactions": tally(result.transactions.done, result.transactions.new),
        "rows_reconciled": reconciled,
        "reconciliation_report": str(args.report),
        "accounts_checked": result.accounts_checked,
        "balance_mismatches": [
            {"external_ref": ref, "bank_balance": bank, "ledger_balance": ledger}
            for ref, bank, ledger in result.balance_mismatches
        ],
        "held_back": {
            "accounts": plan.accounts_held_back + result.accounts_held_back,
            "transactions": plan.transactions_held_back + result.transactions_held_back,
        },
        "errors": len(plan.errors) + len(result.failures),
        "seconds": round(elapsed, 2),
        "phase_seconds": result.phase_seconds,
        # Replayed requests commit nothing, so only new ones count.
        "transactions_per_second": round(result.transactions.new / elapsed, 1)
        if elapsed
        else 0.0,
    }


def _print_summary(context: Context, summary: dict) -> None:
    if context.output.as_json:
        context.output.json(summary)
        return
    out = context.output

    out.line(
        f"Imported {summary['folder']} with the reference prefix "
        f"{summary['reference_prefix']}"
    )
    for name in ("customers", "accounts", "transactions"):
        counts = summary[name]
        out.line(f"  {name:<14}{counts['imported']:>7}  ({counts['new']} new)")
    out.line(
        f"  {'reconciled':<14}{summary['rows_reconciled']:>7}  rows, listed in "
        f"{summary['reconciliation_report']}"
    )

    mismatches = summary["balance_mismatches"]
    out.line(
        f"  balances that differ from the bank's: {len(mismatches)} of "
        f"{summary['accounts_checked']} accounts checked"
    )
    for mismatch in mismatches:
        out.line(
            f"    {mismatch['external_ref']}: bank {_czk(mismatch['bank_balance'])}, "
            f"ledger {_czk(mismatch['ledger_balance'])}"
        )

    held = summary["held_back"]
    if held["accounts"] or held["transactions"] or summary["errors"]:
        out.line(
            f"  held back by errors: {_pluralize(held['accounts'], 'account')}, "
            f"{_pluralize(held['transactions'], 'transaction')} "
            f"({_pluralize(summary['errors'], 'error')} above)"
        )

    phases = ", ".join(f"{name} {s} s" for name, s in summary["phase_seconds"].items())
    out.line(f"Took {summary['seconds']} s ({phases}), {_rate(summary)}.")


def _rate(summary: dict) -> str:
    """Describe the rate of new transactions, or why there is none."""
    if summary["transactions"]["new"]:
        return f"{summary['transactions_per_second']} new transactions per second"
    new = sum(summary[name]["new"] for name in ("customers", "accounts"))
    if new == 0 and summary["errors"] == 0:
        return "nothing new: every record was already imported, so no rate"
    return "no new transactions, so no rate"


def _print_plan(
    context: Context,
    args: argparse.Namespace,
    plan: berka_plan.ImportPlan,
    reconciled: int,
) -> None:
    summary = {
        "folder": str(args.folder),
        "customers": len(plan.customers),
        "accounts": len(plan.accounts),
        "transactions": plan.transaction_count,
        "rows_reconciled": reconciled,
        "reconciliation_report": str(args.report),
        "held_back": {
            "accounts": plan.accounts_held_back,
            "transactions": plan.transactions_held_back,
        },
        "errors": len(plan.errors),
    }
    if context.output.as_json:
        context.output.json(summary)
        return
    context.output.line(
        f"Checked {args.folder}, sent nothing: "
        f"{_pluralize(summary['customers'], 'customer')}, "
        f"{_pluralize(summary['accounts'], 'account')} and "
        f"{_pluralize(summary['transactions'], 'transaction')} would be imported, "
        f"{_pluralize(reconciled, 'row')} reconciled, "
        f"{_pluralize(plan.accounts_held_back, 'account')} and "
        f"{_pluralize(plan.transactions_held_back, 'transaction')} held back by "
        f"{_pluralize(len(plan.errors), 'error')}."
    )


def _pluralize(number: int, noun: str) -> str:
    """Return "1 error" or "2 errors": the number with the noun in agreement."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _czk(haler: int) -> str:
    return f"{format_minor_units(haler, records.CZK_DIGITS)} CZK"
