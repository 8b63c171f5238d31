"""``bankctl accounts``: open, show, freeze, unfreeze and close accounts."""

from __future__ import annotations

import argparse

from google.protobuf import field_mask_pb2

from bank.accounts.v1 import account_service_pb2 as api
from bank.ledger.v1 import resources_pb2 as pb
from bankctl import views
from bankctl.context import (
    CommandError,
    Context,
    account_reference,
    positive_int64,
    request_id,
)
from bankctl.money import exponent, parse_amount

_TYPES = {"checking": pb.ACCOUNT_TYPE_CHECKING, "savings": pb.ACCOUNT_TYPE_SAVINGS}
_ACCOUNT_HELP = "account id, or an external reference such as berka:2378"


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser):
    group = commands.add_parser(
        "accounts",
        help="open, show, freeze, unfreeze and close accounts",
        parents=[common],
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    opening = actions.add_parser("open", help="open an account", parents=[common])
    opening.add_argument(
        "--owner",
        action="append",
        required=True,
        help="customer id of an owner; repeat for joint owners",
    )
    opening.add_argument(
        "--authorized",
        action="append",
        default=[],
        help="customer id of a person authorised to use the account; repeatable",
    )
    opening.add_argument(
        "--currency", default="CZK", help="ISO 4217 code (default CZK)"
    )
    opening.add_argument("--type", choices=sorted(_TYPES), default="checking")
    opening.add_argument(
        "--overdraft",
        default="0",
        help="overdraft limit in the currency, e.g. 500.00 (default 0)",
    )
    opening.add_argument("--nickname", default="", help="short name of the account")
    opening.add_argument(
        "--external-ref", default="", help="identifier in a source system"
    )
    opening.add_argument(
        "--request-id", help="id of this write, to repeat it safely (default: new)"
    )
    opening.set_defaults(handler=open_account)

    show = actions.add_parser("show", help="show one account", parents=[common])
    show.add_argument("account", nargs="?", type=account_reference, help=_ACCOUNT_HELP)
    show.add_argument("--external-ref", help="look the account up by this instead")
    show.set_defaults(handler=show_account)

    for name, handler, text in (
        ("freeze", freeze_account, "freeze an account: it accepts no postings"),
        ("unfreeze", unfreeze_account, "make a frozen account active again"),
        ("close", close_account, "close an account whose balance is zero"),
    ):
        action = actions.add_parser(name, help=text, parents=[common])
        action.add_argument("account", type=account_reference, help=_ACCOUNT_HELP)
        action.add_argument(
            "--request-id", help="id of this write, to repeat it safely (default: new)"
        )
        action.add_argument(
            "--expected-version",
            help="the account version this change applies to; the write fails "
            "if the account has changed since (default: the current version)",
        )
        action.set_defaults(handler=handler)


def open_account(args: argparse.Namespace, context: Context) -> None:
    currency = args.currency.upper()
    try:
        exponent(currency)
    except ValueError as error:
        raise CommandError(f"--currency: {error}") from None
    try:
        overdraft = parse_amount(args.overdraft, currency, minimum=0)
    except ValueError as error:
        raise CommandError(f"--overdraft: {error}") from None
    holders = [
        pb.AccountHolder(
            customer_id=positive_int64(owner, "--owner"), role=pb.HOLDER_ROLE_OWNER
        )
        for owner in args.owner
    ]
    holders += [
        pb.AccountHolder(
            customer_id=positive_int64(person, "--authorized"),
            role=pb.HOLDER_ROLE_AUTHORIZED,
        )
        for person in args.authorized
    ]
    account = pb.Account(
        currency_code=currency,
        type=_TYPES[args.type],
        holders=holders,
        overdraft_limit=pb.Money(currency_code=currency, minor_units=overdraft),
        nickname=args.nickname,
        external_ref=args.external_ref,
    )
    request = api.OpenAccountRequest(
        request_id=request_id(args.request_id, "open"), account=account
    )
    response = context.write(context.services.accounts.OpenAccount, request)
    context.output.record(response.account, views.account_fields(response.account))


def show_account(args: argparse.Namespace, context: Context) -> None:
    if args.account is not None and args.external_ref is not None:
        raise CommandError("give either ACCOUNT or --external-ref, not both")
    if args.account is not None:
        account = context.get_account(args.account)
    elif args.external_ref is not None:
        request = api.GetAccountRequest(external_ref=args.external_ref)
        account = context.services.accounts.GetAccount(
            request, timeout=context.timeout
        ).account
    else:
        raise CommandError(
            "give the account: its id, such as 42, or its external reference, "
            "such as berka:2378"
        )
    context.output.record(account, views.account_fields(account))


def freeze_account(args: argparse.Namespace, context: Context) -> None:
    _set_status(args, context, pb.ACCOUNT_STATUS_FROZEN, "freeze")


def unfreeze_account(args: argparse.Namespace, context: Context) -> None:
    _set_status(args, context, pb.ACCOUNT_STATUS_ACTIVE, "unfreeze")


def _set_status(
    args: argparse.Namespace, context: Context, status: int, command: str
) -> None:
    """Change the status, naming the version read so no other change is lost."""
    write_id = request_id(args.request_id, command)
    expected_version = _expected_version(args)
    current = context.get_account(args.account)
    request = api.UpdateAccountRequest(
        request_id=write_id,
        account=pb.Account(account_id=current.account_id, status=status),
        update_mask=field_mask_pb2.FieldMask(paths=["status"]),
        expected_version=expected_version or current.version,
    )
    response = context.write(context.services.accounts.UpdateAccount, request)
    context.output.record(response.account, views.account_fields(response.account))


def close_account(args: argparse.Namespace, context: Context) -> None:
    write_id = request_id(args.request_id, "close")
    expected_version = _expected_version(args)
    current = context.get_account(args.account)
    request = api.CloseAccountRequest(
        request_id=write_id,
        account_id=current.account_id,
        expected_version=expected_version or current.version,
    )
    response = context.write(context.services.accounts.CloseAccount, request)
    context.output.record(response.account, views.account_fields(response.account))


def _expected_version(args: argparse.Namespace) -> int:
    """Return the version given with --expected-version, or 0 when none is."""
    if args.expected_version is None:
        return 0
    return positive_int64(args.expected_version, "--expected-version")
