"""The operator web console (Japanese), served by the daemon under ``/console/``.

Server-rendered pages (aiohttp-jinja2) over the same repositories, ledger
functions, validation models and tenant scoping as the JSON API; a few lines
of plain JavaScript where a page needs it (the live board's Server-Sent
Events).  Where to find what:

    app.py        installs everything on the daemon's aiohttp application
    viewer.py     who is looking (role, tenant) and the role guard
    session.py    login sessions, CSRF checks and security headers (middleware)
    throttle.py   login attempts per address
    render.py     templates and their filters (yen, Tokyo time, masked numbers)
    forms.py      form fields → the API's pydantic models, errors in Japanese
    changes.py    one transaction for a change and its audit row
    failures.py   errors as HTML pages
    pages/        one module per screen family
"""
