"""The largest amounts money may take, so no sum overflows bigint or JavaScript's safe integers.

Every money field of the API and every money column of the database is bounded
by these (pydantic models refuse with a 422, CHECK constraints refuse at the
database).  With every ledger row at most ``MAX_ENTRY_YEN`` and every balance
within ``±MAX_BALANCE_YEN``, a balance plus one more row stays below 1.2e9,
far from 2**53 (JSON numbers) and 2**63 (bigint).
"""

from __future__ import annotations

MAX_ENTRY_YEN = 100_000_000
"""One ledger row (a deposit, a charge, an adjustment, a payout, a refund) moves at most this much."""

MAX_BALANCE_YEN = 1_000_000_000
"""A balance lies within ±this: the most a caller may hold, and the most a postpaid caller may owe."""

MAX_CREDIT_LIMIT_YEN = MAX_BALANCE_YEN
"""A postpaid credit limit is at most what a caller may owe."""

MAX_RATE_YEN_PER_MIN = 100_000
"""A group's or a counsellor's rate."""

MAX_MINIMUM_CHARGE_YEN = 1_000_000
"""A group's minimum charge per call."""
