"""``bankctl deposit``, ``withdraw`` and ``transfer``: post money movements.

AMOUNT is a decimal number in the account's currency, such as 125.50; the
command reads the account first to learn its currency, and sends the amount
as an exact count of minor units.
"""

from __future__ import annotations

import argparse

from bank.ledger.v1 import resources_pb2 as pb
from bank.transactions.v1 import transaction_service_pb2 as api
from bankctl import views
from bankctl.context import CommandError, Context, account_reference, request_id
from bankctl.money import parse_amount

_ACCOUNT_HELP = "account id, or an external reference such as berka:2378"


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser):
    deposit = commands.add_parser(
        "deposit", help="credit an account with cash or a payment", parents=[common]
    )
    deposit.add_argument("account", type=account_reference, help=_ACCOUNT_HELP)
    _add_amount_options(deposit, "from")
    deposit.set_defaults(handler=deposit_money)

    withdraw = commands.add_parser(
        "withdraw", help="debit an account for cash or a payment", parents=[common]
    )
    withdraw.add_argument("account", type=account_reference, help=_ACCOUNT_HELP)
    _add_amount_options(withdraw, "to")
    withdraw.set_defaults(handler=withdraw_money)

    transfer = commands.add_parser(
        "transfer", help="move money between two accounts", parents=[common]
    )
    transfer.add_argument("source", type=account_reference, help="account debited")
    transfer.add_argument(
        "destination", type=account_reference, help="account credited"
    )
    transfer.add_argument("amount", help="amount in the currency, e.g. 125.50")
    transfer.add_argument("--description", default="", help="at most 200 characters")
    transfer.add_argument(
        "--request-id", help="id of this write, to repeat it safely (default: new)"
    )
    transfer.set_defaults(handler=transfer_money)


def _add_amount_options(parser: argparse.ArgumentParser, direction: str) -> None:
    parser.add_argument("amount", help="amount in the account's currency, e.g. 125.50")
    parser.add_argument("--description", default="", help="at most 200 characters")
    parser.add_argument(
        "--bank-code",
        help=f"for a payment {direction} another bank: that bank's code",
    )
    parser.add_argument(
        "--counterparty-account",
        help=f"for a payment {direction} another bank: the account number there",
    )
    parser.add_argument(
        "--request-id", help="id of this write, to repeat it safely (default: new)"
    )


def _money(text: str, account: pb.Account) -> pb.Money:
    try:
        minor_units = parse_amount(text, account.currency_code)
    except ValueError as error:
        raise CommandError(f"amount: {error}") from None
    return pb.Money(currency_code=account.currency_code, minor_units=minor_units)


def _counterparty(args: argparse.Namespace) -> pb.Counterparty | None:
    """Return the account at another bank, or None when neither option is given.

    Raises CommandError unless both options are given and neither is blank.
    """
    options = {
        "--bank-code": args.bank_code,
        "--counterparty-account": args.counterparty_account,
    }
    if all(value is None for value in options.values()):
        return None
    for option, value in options.items():
        if value is not None and not value.strip():
            raise CommandError(
                f"{option} is empty: give it a value, or leave out both "
                f"{' and '.join(options)}"
            )
    for option, value in options.items():
        if value is None:
            other = next(name for name in options if name != option)
            raise CommandError(
                f"{other} needs {option}: give both for a payment with another "
                "bank, or neither"
            )
    return pb.Counterparty(
        bank_code=args.bank_code, account_number=args.counterparty_account
    )


def deposit_money(args: argparse.Namespace, context: Context) -> None:
    write_id = request_id(args.request_id, "deposit")
    counterparty = _counterparty(args)
    account = context.get_account(args.account)
    request = api.DepositRequest(
        request_id=write_id,
        account_id=account.account_id,
        amount=_money(args.amount, account),
        description=args.description,
        counterparty=counterparty,
    )
    response = context.write(context.services.transactions.Deposit, request)
    _show(context, response.transaction)


def withdraw_money(args: argparse.Namespace, context: Context) -> None:
    write_id = request_id(args.request_id, "withdraw")
    counterparty = _counterparty(args)
    account = context.get_account(args.account)
    request = api.WithdrawRequest(
        request_id=write_id,
        account_id=account.account_id,
        amount=_money(args.amount, account),
        description=args.description,
        counterparty=counterparty,
    )
    response = context.write(context.services.transactions.Withdraw, request)
    _show(context, response.transaction)


def transfer_money(args: argparse.Namespace, context: Context) -> None:
    write_id = request_id(args.request_id, "transfer")
    source = context.get_account(args.source)
    destination = context.get_account(args.destination)
    request = api.TransferRequest(
        request_id=write_id,
        from_account_id=source.account_id,
        to_account_id=destination.account_id,
        amount=_money(args.amount, source),
        description=args.description,
    )
    response = context.write(context.services.transactions.Transfer, request)
    _show(context, response.transaction)


def _show(context: Context, transaction: pb.Transaction) -> None:
    context.output.record(transaction, views.transaction_fields(transaction))
