"""``python -m daemon``: run the daemon, or administer it against its database.

    python -m daemon run
    python -m daemon tenant create NAME --lines N
    python -m daemon tenant onboard NAME --product ivr|coaching [--number 03…] [--lines N] [--forwarding]
        [--billing-name …] [--billing-address …] [--billing-email …]
        [--invite LOGIN [--invite-name NAME] [--invite-email ADDRESS]]
    python -m daemon tenant billing TENANT_ID [--name …] [--address …] [--email …]
    python -m daemon tenant list
    python -m daemon tenant show TENANT_ID
    python -m daemon lines set TENANT_ID N
    python -m daemon number add TENANT_ID NUMBER --product coaching|ivr|duty
    python -m daemon number remove NUMBER
    python -m daemon pool add NUMBER [--note NOTE]
    python -m daemon pool list [--free]
    python -m daemon pool remove NUMBER
    python -m daemon forwarding set TENANT_ID on|off
    python -m daemon invoice close YYYY-MM [--tenant TENANT_ID] [--send]
    python -m daemon invoice send YYYY-MM [--tenant TENANT_ID]
    python -m daemon invoice pdf TENANT_ID YYYY-MM FILE
    python -m daemon token create TENANT_ID [--label LABEL]
    python -m daemon token list TENANT_ID
    python -m daemon token revoke TENANT_ID TOKEN_ID
    python -m daemon user add LOGIN --role admin|operator|ivr [--tenant TENANT_ID] [--name NAME]
    python -m daemon user list [--tenant TENANT_ID]
    python -m daemon user password USER_ID
    python -m daemon user invite LOGIN --tenant TENANT_ID --product ivr|coaching [--name NAME] [--email ADDRESS]
    python -m daemon user reinvite USER_ID
    python -m daemon status
    python -m daemon backup FILE
    python -m daemon restore FILE [--replace]

The database is the daemon's (``CALLD_DATABASE_URL``, or the embedded one in
``CALLD_DATA_DIR``); pending migrations are applied first.  Names, numbers,
labels and line counts follow the same rules as the API and the console
(:mod:`daemon.services.values`), and every change is the service layer's
operation, audited with the actor ``cli:<login of the shell user>``; operator
tokens are shown once, only their SHA-256 is stored.

Exit codes: 0 done, 1 not found / already exists / refused / database unavailable,
2 bad usage, an invalid value or an invalid ``CALLD_*`` setting.

One-time links (``tenant onboard --invite``, ``user invite``) are printed once,
on ``--base-url`` (default: the daemon's own HTTP address; give the console's
public address), and e-mailed to the invitee's address when one is given.
Console users' passwords are read from the terminal (asked twice) or, when
stdin is not a terminal, from its first line; never from the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
import warnings
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, TextIO, TypeVar

import asyncpg
from pydantic import BaseModel, TypeAdapter, ValidationError

from daemon import event_loop, gc_tuning
from daemon.config import ConfigurationError, Settings, load_settings, unknown_variables
from daemon.http.errors import DB_UNAVAILABLE, readable
from daemon.postgres import backup
from daemon.postgres.constraints import explain
from daemon.postgres.embedded import EmbeddedPostgres
from daemon.postgres.migrate import migrate
from daemon.repositories import console_users, invoices, number_pool, tenants, tokens
from daemon.rules.billing import invoice_pdf
from daemon.rules.billing.invoice import Period
from daemon.services import invites, invoice_mail, users
from daemon.services import invoices as invoice_service
from daemon.services import number_pool as pool_service
from daemon.services import tenants as tenant_service
from daemon.services import tokens as token_service
from daemon.services.actor import Actor
from daemon.services.errors import Conflict, Invalid, ServiceError
from daemon.services.inputs import LinesUpdate, NumberCreate, TenantCreate, TokenCreate
from daemon.services.tenant_models import BillingContactIn, InviteIn, Onboarding, PoolNumberIn
from daemon.services.values import TOKYO, Label, Lines, PhoneNumber, TenantName

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

CONNECT_TIMEOUT = 10.0
PROG = "python -m daemon"

#: A command over a pool of the migrated database; or, marked ``whole_database``, over its DSN.
Command = Callable[[Any, argparse.Namespace, TextIO], Awaitable[None]]


class _Parser(argparse.ArgumentParser):
    """Raises instead of exiting, so ``main`` returns the code (and tests can call it)."""

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise _Exit(status)


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def _value(adapter: TypeAdapter[Any], convert: Callable[[str], Any] = str) -> Callable[[str], Any]:
    """An argparse ``type=`` that applies the API's validation rules."""

    def parse(text: str) -> Any:
        try:
            return adapter.validate_python(convert(text))
        except ValueError as exc:  # ValidationError is a ValueError, and so is int("x")
            if isinstance(exc, ValidationError):
                raise argparse.ArgumentTypeError("; ".join(readable(e["msg"]) for e in exc.errors())) from None
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None

    return parse


def _row_id(what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text.isascii() or not text.isdigit() or not 0 < int(text) < 2**63:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {what} (a positive whole number)")
        return int(text)

    return parse


_tenant_id = _row_id("tenant id")
_token_id = _row_id("token id")
_name = _value(TypeAdapter(TenantName))
_label = _value(TypeAdapter(Label))
_lines = _value(TypeAdapter(Lines), int)
_number = _value(TypeAdapter(PhoneNumber))


def _period(text: str) -> Period:
    try:
        return Period.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Run the calld daemon, or administer tenants, lines, numbers and operator tokens"
        " in its database (settings: CALLD_* environment variables, see README).",
    )
    groups = parser.add_subparsers(
        dest="group",
        metavar="{run,tenant,lines,number,pool,token,forwarding,invoice,user,status,backup,restore}",
        required=True,
    )

    groups.add_parser(
        "run",
        help="start the daemon (event socket, HTTP API) until SIGTERM/SIGINT",
        description="Start the daemon: FreeSWITCH's outbound event socket on CALLD_ESL_HOST:CALLD_ESL_PORT,"
        " status/metrics/admin API on CALLD_HTTP_HOST:CALLD_HTTP_PORT; JSON logs on stderr."
        " Stops on SIGTERM/SIGINT, letting live calls finish (CALLD_DRAIN_SECONDS).",
    ).set_defaults(run=None)

    tenant = groups.add_parser("tenant", help="create, list and show tenants")
    tenant_cmds = tenant.add_subparsers(dest="command", required=True)
    create = tenant_cmds.add_parser("create", help="create a tenant")
    create.add_argument("name", type=_name, help="unique name, 1-200 characters")
    create.add_argument("--lines", type=_lines, required=True, help="concurrent calls allowed (0-100000)")
    create.set_defaults(run=_tenant_create)
    tenant_cmds.add_parser("list", help="tenants with lines, live calls and numbers").set_defaults(run=_tenant_list)
    show = tenant_cmds.add_parser("show", help="one tenant")
    show.add_argument("tenant_id", type=_tenant_id)
    show.set_defaults(run=_tenant_show)
    _add_onboarding_commands(tenant_cmds)

    lines = groups.add_parser("lines", help="change a tenant's lines")
    lines_cmds = lines.add_subparsers(dest="command", required=True)
    set_lines = lines_cmds.add_parser("set", help="set the line count; applies to the next call")
    set_lines.add_argument("tenant_id", type=_tenant_id)
    set_lines.add_argument("lines", type=_lines, help="0-100000")
    set_lines.set_defaults(run=_lines_set)

    number = groups.add_parser("number", help="assign and remove numbers")
    number_cmds = number.add_subparsers(dest="command", required=True)
    add = number_cmds.add_parser("add", help="assign a number to a tenant's product")
    add.add_argument("tenant_id", type=_tenant_id)
    add.add_argument("number", type=_number, help="e.g. 0312345678 or +81312345678")
    add.add_argument("--product", choices=("coaching", "ivr", "duty"), required=True)
    add.set_defaults(run=_number_add)
    remove = number_cmds.add_parser("remove", help="take a number out of service")
    remove.add_argument("number", type=_number, help="as it was added, e.g. 0312345678 or +81312345678")
    remove.set_defaults(run=_number_remove)

    _add_pool_commands(groups)
    _add_billing_commands(groups)
    _add_token_commands(groups)
    _add_user_commands(groups)

    groups.add_parser("status", help="every tenant's lines and live calls (all nodes)").set_defaults(run=_status)
    _add_backup_commands(groups)
    return parser


def _base_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-url", help="the console's public address for the link, e.g. https://calld.example.jp")


def _add_onboarding_commands(tenant_cmds: argparse._SubParsersAction[_Parser]) -> None:
    onboard = tenant_cmds.add_parser(
        "onboard", help="a new customer in one step: tenant, billing contact, pool number, lines, add-on, first user"
    )
    onboard.add_argument("name", type=_name, help="unique name, 1-200 characters")
    onboard.add_argument("--product", choices=("coaching", "ivr"), required=True)
    onboard.add_argument("--number", type=_number, help="a free number of the pool (03…)")
    onboard.add_argument("--lines", type=_lines, default=1, help="concurrent calls (default 1)")
    onboard.add_argument("--forwarding", action="store_true", help="the forwarding add-on (+10,000 yen a month)")
    onboard.add_argument("--billing-name", default="", help="the invoice's addressee (default: the tenant's name)")
    onboard.add_argument("--billing-address", default="", help="the invoice's address")
    onboard.add_argument("--billing-email", default="", help="where issued invoices are e-mailed")
    onboard.add_argument("--invite", metavar="LOGIN", help="the first console user, sent a one-time link")
    onboard.add_argument("--invite-name", default="", help="the first user's display name")
    onboard.add_argument("--invite-email", default="", help="the first user's e-mail address: the link is mailed")
    _base_url(onboard)
    onboard.set_defaults(run=_tenant_onboard)
    billing = tenant_cmds.add_parser("billing", help="set the invoice's addressee, address and e-mail")
    billing.add_argument("tenant_id", type=_tenant_id)
    billing.add_argument("--name", default="", help="addressee (empty: the tenant's name)")
    billing.add_argument("--address", default="")
    billing.add_argument("--email", default="", help="empty: invoices are not mailed")
    billing.set_defaults(run=_tenant_billing)


def _add_pool_commands(groups: argparse._SubParsersAction[_Parser]) -> None:
    pool = groups.add_parser("pool", help="the pool of our 03 numbers")
    pool_cmds = pool.add_subparsers(dest="command", required=True)
    add = pool_cmds.add_parser("add", help="add a number to the pool")
    add.add_argument("number", type=_number, help="e.g. 0312345678")
    add.add_argument("--note", type=_label, default="", help="e.g. the carrier")
    add.set_defaults(run=_pool_add)
    listing = pool_cmds.add_parser("list", help="the pool: free numbers and whom the others are given to")
    listing.add_argument("--free", action="store_true", help="free numbers only")
    listing.set_defaults(run=_pool_list)
    remove = pool_cmds.add_parser("remove", help="retire a free number")
    remove.add_argument("number", type=_number)
    remove.set_defaults(run=_pool_remove)


def _add_backup_commands(groups: argparse._SubParsersAction[_Parser]) -> None:
    dump = groups.add_parser(
        "backup", help="write a consistent backup of the database to FILE (pg_dump's custom format), daemon running"
    )
    dump.add_argument("file", type=Path, help="e.g. /var/backups/calld/calld-2026-12-06.dump")
    dump.set_defaults(run=_backup, whole_database=True)
    restore = groups.add_parser(
        "restore", help="restore a backup in one transaction (every daemon on the database stopped first)"
    )
    restore.add_argument("file", type=Path)
    restore.add_argument("--replace", action="store_true", help="drop everything the database holds first")
    restore.set_defaults(run=_restore, whole_database=True)


def _add_billing_commands(groups: argparse._SubParsersAction[_Parser]) -> None:
    forwarding = groups.add_parser("forwarding", help="the forwarding add-on (+10,000 yen a month)")
    forwarding_cmds = forwarding.add_subparsers(dest="command", required=True)
    set_forwarding = forwarding_cmds.add_parser("set", help="turn the add-on on or off")
    set_forwarding.add_argument("tenant_id", type=_tenant_id)
    set_forwarding.add_argument("state", choices=("on", "off"))
    set_forwarding.set_defaults(run=_forwarding_set)

    invoice = groups.add_parser("invoice", help="our monthly invoices")
    invoice_cmds = invoice.add_subparsers(dest="command", required=True)
    close = invoice_cmds.add_parser("close", help="issue a finished month's invoices (every tenant, or one)")
    close.add_argument("period", type=_period, help="the month, YYYY-MM (Asia/Tokyo)")
    close.add_argument("--tenant", type=_tenant_id, help="only this tenant")
    close.add_argument("--send", action="store_true", help="mail each invoice issued now to its billing address")
    close.set_defaults(run=_invoice_close)
    send = invoice_cmds.add_parser("send", help="mail issued invoices (PDF attached) to the billing addresses")
    send.add_argument("period", type=_period, help="the month, YYYY-MM (Asia/Tokyo)")
    send.add_argument("--tenant", type=_tenant_id, help="only this tenant")
    send.set_defaults(run=_invoice_send)
    pdf = invoice_cmds.add_parser("pdf", help="write a month's invoice as a PDF")
    pdf.add_argument("tenant_id", type=_tenant_id)
    pdf.add_argument("period", type=_period, help="the month, YYYY-MM (Asia/Tokyo)")
    pdf.add_argument("file", type=Path)
    pdf.set_defaults(run=_invoice_pdf)


def _add_token_commands(groups: argparse._SubParsersAction[_Parser]) -> None:
    token = groups.add_parser("token", help="operator tokens (the operator API of one tenant)")
    token_cmds = token.add_subparsers(dest="command", required=True)
    token_create = token_cmds.add_parser("create", help="create a token; it is shown once, only its hash is kept")
    token_create.add_argument("tenant_id", type=_tenant_id)
    token_create.add_argument("--label", type=_label, default="", help="who or what uses it, e.g. 'front desk'")
    token_create.set_defaults(run=_token_create)
    token_list = token_cmds.add_parser("list", help="a tenant's tokens (labels and dates, never the tokens)")
    token_list.add_argument("tenant_id", type=_tenant_id)
    token_list.set_defaults(run=_token_list)
    token_revoke = token_cmds.add_parser("revoke", help="revoke a token at once")
    token_revoke.add_argument("tenant_id", type=_tenant_id)
    token_revoke.add_argument("token_id", type=_token_id)
    token_revoke.set_defaults(run=_token_revoke)


def _add_user_commands(groups: argparse._SubParsersAction[_Parser]) -> None:
    user = groups.add_parser("user", help="people who log in to the web console (/console/)")
    user_cmds = user.add_subparsers(dest="command", required=True)
    add = user_cmds.add_parser("add", help="add a console user; the password is asked for")
    add.add_argument("login", help="3-64 of a-z 0-9 . _ @ -")
    add.add_argument("--role", choices=console_users.ROLES, required=True, help="admin sees every tenant")
    add.add_argument("--tenant", type=_tenant_id, help="the tenant of an operator or IVR customer")
    add.add_argument("--name", default="", help="shown in the console and the audit log")
    add.set_defaults(run=_user_add)
    listing = user_cmds.add_parser("list", help="console users (every tenant, or one)")
    listing.add_argument("--tenant", type=_tenant_id)
    listing.set_defaults(run=_user_list)
    password = user_cmds.add_parser("password", help="set a new password (also lifts a lock-out, ends sessions)")
    password.add_argument("user_id", type=_row_id("user id"))
    password.set_defaults(run=_user_password)
    invite = user_cmds.add_parser("invite", help="a new user of a tenant, sent a one-time link that sets the password")
    invite.add_argument("login", help="3-64 of a-z 0-9 . _ @ -")
    invite.add_argument("--tenant", type=_tenant_id, required=True)
    invite.add_argument("--product", choices=("coaching", "ivr"), required=True, help="coaching: an operator")
    invite.add_argument("--name", default="", help="shown in the console and the audit log")
    invite.add_argument("--email", default="", help="the link is e-mailed here too (CALLD_SMTP_*)")
    _base_url(invite)
    invite.set_defaults(run=_user_invite)
    reinvite = user_cmds.add_parser("reinvite", help="a new one-time link (earlier ones stop working)")
    reinvite.add_argument("user_id", type=_row_id("user id"))
    _base_url(reinvite)
    reinvite.set_defaults(run=_user_reinvite)


def main(argv: Sequence[str]) -> int:
    try:
        args = build_parser().parse_args(list(argv))
    except _Exit as exc:
        return exc.code
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    if args.run is None:
        return _run_daemon(settings)
    args.settings = settings
    warnings.showwarning = _one_line_warning
    for unknown in unknown_variables():
        print(f"warning: {unknown}", file=sys.stderr)
    try:
        asyncio.run(_execute(settings, args.run, args))
    except (Invalid, console_users.Refused) as exc:  # a value the rules refuse: like a bad argument
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ServiceError, tenants.NotFound, tenants.Conflict, invoices.InvoiceRefused) as exc:
        print(f"error: {explain(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    except (backup.BackupFailed, backup.RestoreRefused) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except DB_UNAVAILABLE as exc:
        print(f"error: the database is unavailable: {exc or type(exc).__name__}", file=sys.stderr)
        return EXIT_FAILED
    except asyncpg.PostgresError as exc:
        print(f"error: database error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _one_line_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, *args: object, **kw: object
) -> None:
    """A library's warning for a person at a terminal: one line, without the source line it came from."""
    print(f"warning: {message}", file=sys.stderr)


def _run_daemon(settings: Settings) -> int:
    from daemon.logs import configure, get_logger

    configure(settings.log_level)  # first: what importing the daemon warns about is a JSON line too
    from daemon.app import serve

    log = get_logger("daemon.cli")
    for unknown in unknown_variables():
        log.warning("unknown_setting", message=unknown)

    # The daemon's own process: uvloop unless told otherwise (daemon.event_loop), and a less eager
    # young-generation collector (daemon.gc_tuning); admin commands keep Python's defaults.
    gc_tuning.tune()
    event_loop.run(serve(settings))  # a busy port or a failed task ends in SystemExit (daemon.app.serve)
    return EXIT_OK


async def _execute(settings: Settings, run: Command, args: argparse.Namespace) -> None:
    embedded: EmbeddedPostgres | None = None
    dsn = settings.database_url
    if not dsn:
        embedded = await asyncio.to_thread(EmbeddedPostgres, settings.data_dir / "pgdata")
        dsn = embedded.dsn
    try:
        if getattr(args, "whole_database", False):  # backup, restore: the database itself, no pool
            await run(dsn, args, sys.stdout)
            return
        conn = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        pool = await asyncpg.create_pool(
            dsn,
            min_size=1,
            max_size=2,
            timeout=CONNECT_TIMEOUT,
            server_settings={"application_name": "calld-cli"},
        )
        assert pool is not None
        try:
            await run(pool, args, sys.stdout)
        finally:
            await pool.close()
    finally:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)


# Commands.


def _actor() -> Actor:
    """The person at the terminal, as the audit log names them."""
    try:
        login = getpass.getuser()
    except OSError:  # no name for this uid (a bare container)
        login = f"uid{os.getuid()}"
    return Actor.cli(login)


async def _tenant_create(pool: asyncpg.Pool, args: argparse.Namespace, out: TextIO) -> None:
    tenant_id = await tenant_service.create_tenant(pool, _actor(), TenantCreate(name=args.name, lines=args.lines))
    print(f"created tenant {tenant_id} ({args.name}) with {args.lines} lines", file=out)


async def _tenant_list(pool: asyncpg.Pool, args: argparse.Namespace, out: TextIO) -> None:
    rows = [
        [str(t.tenant_id), t.name, str(t.lines), str(t.live_calls), _numbers(t.numbers)]
        for t in await tenants.list_tenants(pool)
    ]
    _table(out, ["ID", "NAME", "LINES", "LIVE", "NUMBERS"], rows, empty="no tenants")


async def _tenant_show(pool: asyncpg.Pool, args: argparse.Namespace, out: TextIO) -> None:
    t = await tenants.get_tenant(pool, args.tenant_id)
    print(f"tenant {t.tenant_id}: {t.name}", file=out)
    print(f"lines: {t.lines}, live calls: {t.live_calls}", file=out)
    print(f"numbers: {_numbers(t.numbers) or '-'}", file=out)


async def _lines_set(pool: asyncpg.Pool, args: argparse.Namespace, out: TextIO) -> None:
    previous = await tenant_service.set_lines(pool, _actor(), args.tenant_id, LinesUpdate(lines=args.lines))
    print(f"tenant {args.tenant_id}: lines {previous} -> {args.lines} (applies to the next call)", file=out)


async def _number_add(pool: asyncpg.Pool, args: argparse.Namespace, out: TextIO) -> None:
    body = NumberCreate(number=args.number, product=args.product)
    await tenant_service.add_number(pool, _actor(), args.tenant_id, body)
    print(f"number {args.number} -> tenant {args.tenant_id} ({args.product})", file=out)


async def _number_remove(pool: asyncpg.Pool, args: argparse.Namespace, out: TextIO) -> None:
    await tenant_service.remove_number(pool, _actor(), args.number)
    print(f"number {args.number} removed", file=out)


async def _forwarding_set(pool: asyncpg.Pool, args: argparse.Namespace, out: TextIO) -> None:
    previous = await tenant_service.set_forwarding(pool, _actor(), args.tenant_id, args.state == "on")
    print(f"tenant {args.tenant_id}: forwarding {'on' if previous else 'off'} -> {args.state}", file=out)


async def _invoice_close(pool: asyncpg.Pool, args: argparse.Namespace, out: TextIO) -> None:
    """Close the month for each tenant; one refusal does not stop the others (exit 1 at the end)."""
    terms = invoices.Terms.from_settings(args.settings)
    ids = [args.tenant] if args.tenant else [t.tenant_id for t in await tenants.lines_overview(pool)]
    refused = 0
    for tenant_id in ids:
        try:
            issued = await invoice_service.close(pool, _actor(), tenant_id, args.period, terms)
        except invoice_service.NoContractThen:
            print(f"tenant {tenant_id}: no contract in {args.period}", file=out)
        except Conflict as exc:
            if exc.code == invoice_service.CLOSED:
                print(f"tenant {tenant_id}: {exc}", file=out)
            else:
                refused += 1
                print(f"tenant {tenant_id}: refused: {exc}", file=out)
        else:
            print(
                f"tenant {tenant_id}: {issued.number} total {issued.total_yen:,} yen (tax {issued.tax_yen:,})", file=out
            )
            if args.send:
                refused += not await _mail_one(pool, args, tenant_id, out)
    if refused:
        raise invoices.InvoiceRefused(f"{refused} of {len(ids)} invoices for {args.period} were not closed or sent")


async def _mail_one(pool: asyncpg.Pool, args: argparse.Namespace, tenant_id: int, out: TextIO) -> bool:
    """Mail one tenant's invoice; a refusal is printed, and False."""
    terms = invoices.Terms.from_settings(args.settings)
    try:
        mailed = await invoice_mail.send(pool, _actor(), args.settings, tenant_id, args.period, terms)
    except invoice_mail.NotMailed as exc:
        print(f"tenant {tenant_id}: not sent: {exc}", file=out)
        return False
    print(f"tenant {tenant_id}: {mailed.number} sent to {mailed.sent_to}", file=out)
    return True


async def _invoice_send(pool: asyncpg.Pool, args: argparse.Namespace, out: TextIO) -> None:
    """Mail the month's issued invoices; one refusal does not stop the others (exit 1 at the end)."""
    ids = [args.tenant] if args.tenant else [t.tenant_id for t in await tenants.lines_overview(pool)]
    failed = sum([not await _mail_one(pool, args, tenant_id, out) for tenant_id in ids])
    if failed:
        raise invoices.InvoiceRefused(f"{failed} of {len(ids)} invoices for {args.period} were not sent")


async def _invoice_pdf(pool: asyncpg.Pool, args: argparse.Namespace, out: TextIO) -> None:
    found = await invoice_service.invoice(
        pool, _actor(), args.tenant_id, args.period, invoices.Terms.from_settings(args.settings)
    )
    args.file.write_bytes(invoice_pdf.to_pdf(found))
    state = "issued" if found.status == "closed" else "a preview (the month is not closed)"
    print(f"{found.number} ({state}) written to {args.file}", file=out)


M = TypeVar("M", bound=BaseModel)


def _model(model: type[M], values: dict[str, Any]) -> M:
    """Options that the service's model refuses are a usage error, worded as the API words them."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise Invalid.of(exc) from None


async def _link(pool: asyncpg.Pool, args: argparse.Namespace, found: invites.Invitation, out: TextIO) -> None:
    """The link, printed once, and e-mailed to the invitee who has an address (a mail not sent: said why)."""
    base = (args.base_url or f"http://{args.settings.http_host}:{args.settings.http_port}").rstrip("/")
    when = _when(found.expires_at)
    print(f"one-time link for {found.login} (user {found.user_id}), valid until {when}, shown only now:", file=out)
    print(base + found.path, file=out)
    mailing = await invites.mail_link(pool, _actor(), args.settings, found, base + found.path)
    if mailing is not None and mailing.failure:
        print(f"warning: the link was not e-mailed to {mailing.to}: {mailing.failure}; pass it on", file=sys.stderr)
    elif mailing is not None:
        print(f"e-mailed to {mailing.to}", file=out)


async def _tenant_onboard(pool: asyncpg.Pool, args: argparse.Namespace, out: TextIO) -> None:
    first = (
        None
        if args.invite is None
        else {"login": args.invite, "display_name": args.invite_name, "role": args.product, "email": args.invite_email}
    )
    body = _model(
        Onboarding,
        {
            "name": args.name,
            "product": args.product,
            "number": args.number,
            "lines": args.lines,
            "forwarding": args.forwarding,
            "billing_name": args.billing_name,
            "billing_address": args.billing_address,
            "billing_email": args.billing_email,
            "first_user": first,
        },
    )
    done = await tenant_service.onboard(pool, _actor(), body)
    number = f", number {body.number} ({body.product})" if body.number else ""
    print(f"created tenant {done.tenant_id} ({body.name}) with {body.lines} lines{number}", file=out)
    if done.invitation is not None:
        await _link(pool, args, done.invitation, out)


async def _tenant_billing(pool: asyncpg.Pool, args: argparse.Namespace, out: TextIO) -> None:
    body = BillingContactIn(billing_name=args.name, billing_address=args.address, billing_email=args.email)
    await tenant_service.set_billing(pool, _actor(), args.tenant_id, body)
    print(f"tenant {args.tenant_id}: billing contact set", file=out)


async def _pool_add(pool: asyncpg.Pool, args: argparse.Namespace, out: TextIO) -> None:
    await pool_service.add(pool, _actor(), PoolNumberIn(number=args.number, note=args.note))
    print(f"number {args.number} added to the pool", file=out)


async def _pool_list(pool: asyncpg.Pool, args: argparse.Namespace, out: TextIO) -> None:
    rows = [
        [n.number, f"tenant {n.tenant_id} ({n.product})" if n.tenant_id else "free", n.note or "-"]
        for n in await number_pool.listing(pool, free_only=args.free)
    ]
    _table(out, ["NUMBER", "GIVEN TO", "NOTE"], rows, empty="no numbers in the pool")


async def _pool_remove(pool: asyncpg.Pool, args: argparse.Namespace, out: TextIO) -> None:
    await pool_service.remove(pool, _actor(), args.number)
    print(f"number {args.number} retired from the pool", file=out)


async def _user_invite(pool: asyncpg.Pool, args: argparse.Namespace, out: TextIO) -> None:
    wanted = {"login": args.login, "display_name": args.name, "role": args.product, "email": args.email}
    await _link(pool, args, await invites.invite(pool, _actor(), args.tenant, _model(InviteIn, wanted)), out)


async def _user_reinvite(pool: asyncpg.Pool, args: argparse.Namespace, out: TextIO) -> None:
    await _link(pool, args, await invites.reinvite(pool, _actor(), args.user_id), out)


def _read_password() -> str:
    stdin = sys.stdin  # looked up now, not when the module was imported
    if not stdin.isatty():
        return stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise console_users.Refused("the two passwords differ")
    return first


async def _user_add(pool: asyncpg.Pool, args: argparse.Namespace, out: TextIO) -> None:
    password = _read_password()
    user_id = await users.create_user(pool, _actor(), args.login, password, args.role, args.tenant, args.name)
    where = f"tenant {args.tenant}" if args.tenant else "every tenant"
    print(f"created console user {user_id} ({args.login}, {args.role}, {where})", file=out)


async def _user_list(pool: asyncpg.Pool, args: argparse.Namespace, out: TextIO) -> None:
    rows = [
        [str(u.id), u.login, u.role, str(u.tenant_id or "-"), "disabled" if u.disabled else "-"]
        for u in await console_users.list_all(pool, args.tenant)
    ]
    _table(out, ["ID", "LOGIN", "ROLE", "TENANT", "STATE"], rows, empty="no console users")


async def _user_password(pool: asyncpg.Pool, args: argparse.Namespace, out: TextIO) -> None:
    await users.set_password(pool, _actor(), args.user_id, _read_password())
    print(f"console user {args.user_id}: new password set, sessions ended", file=out)


async def _token_create(pool: asyncpg.Pool, args: argparse.Namespace, out: TextIO) -> None:
    token_id, token = await token_service.create_token(pool, _actor(), args.tenant_id, TokenCreate(label=args.label))
    print(f"created operator token {token_id} for tenant {args.tenant_id}; it is shown only now:", file=out)
    print(token, file=out)
    host, port = args.settings.http_host, args.settings.http_port
    hint = f'curl -H "Authorization: Bearer <token>" http://{host}:{port}/api/v1/operator/callers'
    print(f"use it: {hint}", file=sys.stderr)


async def _token_list(pool: asyncpg.Pool, args: argparse.Namespace, out: TextIO) -> None:
    rows = [
        [str(t.token_id), t.label or "-", _when(t.created_at), _when(t.revoked_at) if t.revoked_at else "-"]
        for t in await tokens.list_tokens(pool, args.tenant_id)
    ]
    _table(out, ["ID", "LABEL", "CREATED", "REVOKED"], rows, empty=f"tenant {args.tenant_id} has no tokens")


async def _token_revoke(pool: asyncpg.Pool, args: argparse.Namespace, out: TextIO) -> None:
    await token_service.revoke_token(pool, _actor(), args.tenant_id, args.token_id)
    print(f"token {args.token_id} of tenant {args.tenant_id} revoked", file=out)


async def _backup(dsn: str, args: argparse.Namespace, out: TextIO) -> None:
    size = await backup.dump(dsn, args.file)
    print(f"backup written: {args.file} ({size:,} bytes)", file=out)


async def _restore(dsn: str, args: argparse.Namespace, out: TextIO) -> None:
    done = await backup.restore(
        dsn, args.file, replace=args.replace, live_within_seconds=args.settings.node_timeout_seconds
    )
    applied = f"; migrations applied since: {', '.join(done.migrations_applied)}" if done.migrations_applied else ""
    print(f"restored {args.file}: {done.tables} tables{applied}", file=out)


def _when(moment: datetime) -> str:
    return moment.astimezone(TOKYO).isoformat(timespec="seconds")


async def _status(pool: asyncpg.Pool, args: argparse.Namespace, out: TextIO) -> None:
    overview = await tenants.lines_overview(pool)
    rows = [[str(t.tenant_id), t.name, str(t.lines), str(t.live_calls)] for t in overview]
    _table(out, ["ID", "NAME", "LINES", "LIVE"], rows, empty="no tenants")
    if overview:
        live = sum(t.live_calls for t in overview)
        print(f"{len(overview)} tenants, {live} live calls on all nodes", file=out)


def _numbers(numbers: Sequence[tenants.NumberAssignment]) -> str:
    return ", ".join(f"{n.number} ({n.product})" for n in numbers)


def _table(out: TextIO, header: list[str], rows: list[list[str]], *, empty: str) -> None:
    if not rows:
        print(empty, file=out)
        return
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip(), file=out)
