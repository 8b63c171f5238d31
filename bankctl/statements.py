"""``bankctl statement`` and ``bankctl watch``: an account's history and live feed."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import grpc

from bank.ledger.v1 import resources_pb2 as pb
from bank.transactions.v1 import transaction_service_pb2 as api
from bank_common import status
from bankctl import views
from bankctl.connection import describe_error
from bankctl.context import CommandError, Context, account_reference, whole_number
from bankctl.output import message_to_dict

_ACCOUNT_HELP = "account id, or an external reference such as berka:2378"
_PAGE_SIZE = 1000


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser):
    statement = commands.add_parser(
        "statement", help="print an account's statement", parents=[common]
    )
    statement.add_argument("account", type=account_reference, help=_ACCOUNT_HELP)
    statement.add_argument(
        "--from", dest="start_date", default="", help="first value date, YYYY-MM-DD"
    )
    statement.add_argument(
        "--to", dest="end_date", default="", help="last value date, YYYY-MM-DD"
    )
    statement.set_defaults(handler=print_statement)

    watch = commands.add_parser(
        "watch",
        help="follow an account live: print each new transaction as it commits",
        parents=[common],
    )
    watch.add_argument("account", type=account_reference, help=_ACCOUNT_HELP)
    watch.add_argument(
        "--count",
        type=_count,
        default=0,
        help="stop after this many transactions; 0 (the default) follows the "
        "account until Ctrl-C",
    )
    watch.set_defaults(handler=watch_account)


def _count(text: str) -> int:
    """argparse type of watch --count: a whole number, 0 or more."""
    try:
        return whole_number(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a count: use 0 to follow until Ctrl-C, or a positive "
            "whole number of transactions without a leading zero"
        ) from None


def statement_lines(
    context: Context, account_id: int, start_date: str = "", end_date: str = ""
) -> Iterator[pb.StatementLine]:
    """Yield every line of the statement, reading it page by page."""
    token = ""
    while True:
        page = context.services.transactions.ListStatement(
            api.ListStatementRequest(
                account_id=account_id,
                page_size=_PAGE_SIZE,
                page_token=token,
                start_date=start_date,
                end_date=end_date,
            ),
            timeout=context.timeout,
        )
        yield from page.lines
        token = page.next_page_token
        if not token:
            return


def print_statement(args: argparse.Namespace, context: Context) -> None:
    account = context.get_account(args.account)
    lines = list(
        statement_lines(context, account.account_id, args.start_date, args.end_date)
    )
    rows = [
        (
            line.value_date,
            str(line.transaction_id),
            views.kind(line.kind),
            views.money(line.amount),
            views.money(line.balance_after),
            line.description,
            views.counterparty(line.counterparty),
        )
        for line in lines
    ]
    if not context.output.as_json:
        title = f"Statement of account {account.account_id}"
        if account.external_ref:
            title += f" ({account.external_ref})"
        context.output.line(f"{title}, balance {views.money(account.balance)}")
    context.output.rows(
        "lines",
        lines,
        (
            "value_date",
            "transaction",
            "kind",
            "amount",
            "balance_after",
            "description",
            "counterparty",
        ),
        rows,
        right_aligned=("transaction", "amount", "balance_after"),
    )


def watch_account(args: argparse.Namespace, context: Context) -> None:
    """Print each transaction on the account as it commits, until --count or Ctrl-C.

    The stream starts after the account's last change as read, so no
    transaction between that read and the stream's start is missed. It has
    no deadline: it stays open until the command stops.
    """
    account = context.get_account(args.account)
    stream = context.services.transactions.WatchTransactions(
        api.WatchTransactionsRequest(
            account_id=account.account_id, after_sequence=account.change_sequence
        )
    )
    if not context.output.as_json:
        context.output.line(
            f"Watching account {account.account_id}, balance "
            f"{views.money(account.balance)}; Ctrl-C stops."
        )
    seen = 0
    last_transaction = None
    try:
        for message in stream:
            _print_event(context, account.account_id, message)
            last_transaction = message.transaction.transaction_id
            seen += 1
            if args.count and seen >= args.count:
                return
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.UNAVAILABLE:
            raise
        raise CommandError(
            _watch_stopped(error, args.account, last_transaction)
        ) from None
    finally:
        stream.cancel()


def _watch_stopped(
    error: grpc.RpcError, account: str, last_transaction: int | None
) -> str:
    """Describe a watch ended by UNAVAILABLE in terms of bankctl's commands.

    The service's message advises API callers to set after_sequence, but
    bankctl watch has no such option. A new watch starts from the account's
    state at that time, so the statement shows the transactions in between.
    """
    ledger_error = status.error_from_rpc_error(error)
    if ledger_error is not None and ledger_error.reason == "SHUTTING_DOWN":
        what = "the transaction service stopped"
    else:
        what = f"the transaction service cannot be reached ({describe_error(error)})"
    last = (
        f"the last transaction printed was {last_transaction}"
        if last_transaction is not None
        else "no transaction was printed"
    )
    return (
        f"{what}, so watching account {account} ended, and {last}. Once the "
        f"service is back, run the same command again to resume watching. "
        f"Transactions that commit before then are not printed by watch: "
        f"bankctl statement {account} lists them"
    )


def _print_event(
    context: Context, account_id: int, message: api.WatchTransactionsResponse
) -> None:
    transaction = message.transaction
    if context.output.as_json:
        context.output.json_line(message_to_dict(message))
        return
    for entry in transaction.entries:
        if entry.account_id != account_id:
            continue
        line = (
            f"{views.timestamp(transaction.post_time)}  "
            f"transaction {transaction.transaction_id}  "
            f"{views.kind(transaction.kind)}  {views.money(entry.amount)}  "
            f"balance {views.money(entry.balance_after)}  {transaction.description}"
        )
        # A transaction without a description would end in two spaces.
        context.output.line(line.rstrip())
