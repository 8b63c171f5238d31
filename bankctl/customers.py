"""``bankctl customers``: create and show customers."""

from __future__ import annotations

import argparse

from bank.accounts.v1 import account_service_pb2 as api
from bank.ledger.v1 import resources_pb2 as pb
from bankctl import views
from bankctl.context import CommandError, Context, positive_int64, request_id

_SEX = {"female": pb.SEX_FEMALE, "male": pb.SEX_MALE}


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser):
    group = commands.add_parser(
        "customers", help="create and show customers", parents=[common]
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    create = actions.add_parser("create", help="create a customer", parents=[common])
    create.add_argument(
        "--name", required=True, help="full name, at most 200 characters"
    )
    create.add_argument("--email", default="", help="e-mail address")
    create.add_argument("--phone", default="", help="phone number")
    create.add_argument("--birth-date", default="", help="date of birth, YYYY-MM-DD")
    create.add_argument(
        "--sex", choices=sorted(_SEX), help="sex as recorded by the bank"
    )
    create.add_argument("--region", default="", help="region or district")
    create.add_argument(
        "--external-ref", default="", help="identifier in a source system, unique"
    )
    create.add_argument(
        "--request-id", help="id of this write, to repeat it safely (default: new)"
    )
    create.set_defaults(handler=create_customer)

    show = actions.add_parser("show", help="show one customer", parents=[common])
    show.add_argument("customer_id", nargs="?", help="customer id")
    show.add_argument("--external-ref", help="look the customer up by this instead")
    show.set_defaults(handler=show_customer)


def create_customer(args: argparse.Namespace, context: Context) -> None:
    customer = pb.Customer(
        full_name=args.name,
        email=args.email,
        phone=args.phone,
        birth_date=args.birth_date,
        sex=_SEX.get(args.sex, pb.SEX_UNSPECIFIED),
        region=args.region,
        external_ref=args.external_ref,
    )
    request = api.CreateCustomerRequest(
        request_id=request_id(args.request_id, "customer"), customer=customer
    )
    response = context.write(context.services.accounts.CreateCustomer, request)
    context.output.record(response.customer, views.customer_fields(response.customer))


def show_customer(args: argparse.Namespace, context: Context) -> None:
    if (args.customer_id is None) == (args.external_ref is None):
        raise CommandError("give either a customer id or --external-ref, not both")
    if args.customer_id is None:
        request = api.GetCustomerRequest(external_ref=args.external_ref)
    else:
        request = api.GetCustomerRequest(
            customer_id=positive_int64(args.customer_id, "customer id")
        )
    customer = context.services.accounts.GetCustomer(
        request, timeout=context.timeout
    ).customer
    context.output.record(customer, views.customer_fields(customer))
