"""The service layer: one function per operation a person can do, whoever asks.

The JSON API (``daemon/http``), the console (``daemon/console``) and the CLI
(``daemon/cli.py``) are front doors: they parse what came in, call a function
here, and render what it returns or raises.  The rules of *who may* and the
audit row live here once, so a deposit booked through the API, a page or the
CLI is checked and audited the same way.

The foundation every operation is built on:

* :class:`~daemon.services.actor.Actor` -- who is acting (admin token, tenant
  token, console user, CLI user, the system), which tenant they may act for
  (``None``: every tenant) and from where.
* :mod:`daemon.services.errors` -- what an operation refuses with:
  :class:`NotFound`, :class:`Conflict` (with a ``code``), :class:`Invalid`
  (per-field messages), :class:`Forbidden`.  HTTP maps them to status codes
  (``daemon/http/errors.py``), the console to Japanese messages.
* :func:`~daemon.services.change.change` -- the one way to write: check →
  write → audit in one transaction::

      async with change(pool, actor) as c:
          tenant = actor.scope(tenant_id)            # Forbidden if not theirs
          old = await callers.get(c.pool, tenant, caller_id)
          await callers.update(c.pool, tenant, caller_id, **values)
          await c.record("caller.update", tenant_id=tenant, target=f"caller {caller_id}",
                         before=old_settings, after=new_settings)

  ``c.pool`` is the transaction's connection dressed as a pool, so the
  repositories' own transactions become savepoints; nothing commits unless the
  audit row is written too, and a change that records nothing is a bug that
  rolls back.  Database refusals raised inside (``daemon.postgres.errors``) come out
  as the domain errors above.

The operations, one module per kind of object:

* :mod:`~daemon.services.tenants` -- create a tenant, change lines, add and
  remove numbers, the forwarding add-on (the platform's only);
* :mod:`~daemon.services.tokens` and :mod:`~daemon.services.users` -- operator
  tokens and console users (create, unlock, new password);
* :mod:`~daemon.services.callers`, :mod:`~daemon.services.counsellors`,
  :mod:`~daemon.services.groups` -- a Coaching Dial tenant's people and groups;
* :mod:`~daemon.services.money` -- deposits, adjustments, payouts, refunds;
* :mod:`~daemon.services.audit` -- reading the log, scoped to the actor.

What they take is validated by :mod:`~daemon.services.inputs` (request models)
over :mod:`~daemon.services.values` (the value rules every door shares).

Layering: this package imports the repositories (``daemon.repositories.X``) and the pure
rules; it never imports aiohttp, the console or the CLI.
"""
