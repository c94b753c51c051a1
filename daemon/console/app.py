"""Install the console on the daemon's aiohttp application.

Each module of ``pages/`` has a ``routes`` table (``aiohttp.web.RouteTableDef``);
list a new one in :data:`PAGES`.
"""

from __future__ import annotations

from aiohttp import web

from daemon.console import events, render
from daemon.console.failures import console_failures
from daemon.console.pages import (
    admin_nodes,
    admin_numbers,
    admin_tenants,
    admin_users,
    audit,
    bank_import,
    block_list,
    board,
    callers,
    calls,
    counsellor_self,
    counsellor_self_setup,
    counsellors,
    groups,
    home,
    invite,
    invoice_payments,
    invoices,
    ivr_flows,
    ivr_forwarding,
    ivr_guidance,
    ivr_statistics,
    ivr_voicemail,
    login,
    money,
    payouts,
)
from daemon.console.paths import STATIC
from daemon.console.session import add_security_headers, console_session
from daemon.http.bad_requests import bounded_path_numbers, unreadable_bodies

PAGES = (
    login.routes,
    invite.routes,
    home.routes,
    board.routes,
    counsellors.routes,
    groups.routes,
    callers.routes,
    bank_import.routes,
    money.routes,
    calls.routes,
    payouts.routes,
    counsellor_self.routes,
    counsellor_self_setup.routes,
    audit.routes,
    admin_tenants.routes,
    admin_nodes.routes,
    admin_numbers.routes,
    admin_users.routes,
    invoice_payments.routes,
    invoices.routes,
    ivr_flows.routes,
    ivr_guidance.routes,
    ivr_voicemail.routes,
    ivr_forwarding.routes,
    ivr_statistics.routes,
    block_list.routes,
)
STATIC_DIR = render.TEMPLATES.with_name("static")
# In this order, after the API's own: console_failures renders the others' refusals as pages on console paths,
# and the body check wraps console_session, which reads the form for its CSRF field.
MIDDLEWARES = (console_failures, unreadable_bodies, console_session, bounded_path_numbers)


def install(app: web.Application) -> None:
    render.setup(app)
    app.on_response_prepare.append(add_security_headers)
    events.install(app)  # open Server-Sent Events streams end when the daemon stops
    for table in PAGES:
        app.router.add_routes(table)
    app.router.add_static(STATIC, STATIC_DIR, name="console_static")
