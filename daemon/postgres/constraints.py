"""What each database constraint means, in words a person acting on the API or CLI understands.

The database layer reports a broken constraint by its name (``caller_numbers_pkey``);
:func:`explain` turns a message ending in such a name into the sentence below, so
no response or CLI error ever shows a constraint name.  Add a sentence here when
a migration adds a constraint a request can break.
"""

from __future__ import annotations

import re

SENTENCES: dict[str, str] = {
    # duplicates (409)
    "tenants_name_key": "a tenant with this name already exists; tenant names are unique",
    "numbers_pkey": "this number is already assigned (to this tenant or another); remove it there first",
    "caller_numbers_pkey": "a number in the request already belongs to another caller of this tenant;"
    " a number identifies exactly one caller",
    "callers_tenant_id_pin_key": "this PIN is already another caller's; a PIN identifies one caller,"
    " so each must differ",
    "counsellors_tenant_id_name_key": "a counsellor with this name already exists in this tenant",
    "counsellor_groups_tenant_id_code_key": "another group already has this code; the code is what callers key",
    "guidance_tenant_id_name_key": "a guidance with this name already exists in this tenant",
    "ledger_idempotency": "this idempotency key was already used for another entry",
    "ledger_one_charge_per_call": "this call has been charged already; a call is charged once",
    # rules (422)
    "callers_check": "card payers are postpaid: set billing to 'postpaid'",
    "callers_check1": "a credit limit applies to postpaid callers only; a prepaid caller's limit is the balance",
    "callers_check2": "a prepaid balance cannot be negative: settle what is owed before switching to prepaid",
    "callers_credit_limit_yen_check": "the credit limit cannot be negative",
    "callers_pin_check": "a PIN has 4 to 8 digits",
}

# An identifier in parentheses at the end of a message: "... (caller_numbers_pkey)".
_TRAILING = re.compile(r"\s*\(([a-z][a-z0-9_]*)\)\s*$")
# PostgreSQL's generated names: <table>_<columns>_pkey / _key / _fkey / _check[N] / _excl.
_GENERATED = re.compile(r"[a-z0-9_]+_(?:pkey|key|fkey|check[0-9]*|excl)")


def explain(message: str) -> str:
    """``message`` with a trailing constraint name replaced by what it means (or simply dropped)."""
    match = _TRAILING.search(message)
    if match is None:
        return message
    name = match.group(1)
    if name in SENTENCES:
        return SENTENCES[name]
    if _GENERATED.fullmatch(name):
        return message[: match.start()] or "the request breaks a rule of the database"
    return message
