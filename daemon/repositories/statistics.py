"""Counting an IVR tenant's calls over a period, for the customer's statistics page.

Days and hours are Asia/Tokyo's.  The sources: ``ivr_call_log`` (answered
calls, menu choices, callers who hung up in a menu), ``forward_legs`` (one
forward is the legs one node rang for one call: answered if any leg talked,
else busy if any was busy, else no answer), ``voicemails`` and
``call_attempts`` (refused calls: blocked, lines full).
"""

from __future__ import annotations

from datetime import date, datetime

import asyncpg

_DAY = "(({col}) AT TIME ZONE 'Asia/Tokyo')::date"

_DAILY = f"""
WITH calls AS (
    SELECT {_DAY.format(col="started_at")} AS day,
           count(*) AS calls,
           count(*) FILTER (WHERE last_kind = 'menu' AND caller_hung_up) AS hung_up_in_menu
      FROM ivr_call_log WHERE tenant_id = $1 AND started_at >= $2 AND started_at < $3 GROUP BY 1
), refused AS (
    SELECT {_DAY.format(col="created_at")} AS day,
           count(*) FILTER (WHERE reason = 'blocked') AS blocked,
           count(*) FILTER (WHERE reason <> 'blocked') AS refused
      FROM call_attempts WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY 1
), forwards AS (
    SELECT day,
           count(*) FILTER (WHERE outcome = 'answered') AS forward_answered,
           count(*) FILTER (WHERE outcome = 'busy') AS forward_busy,
           count(*) FILTER (WHERE outcome = 'no_answer') AS forward_no_answer,
           count(*) FILTER (WHERE outcome = 'other') AS forward_other
      FROM (SELECT {_DAY.format(col="min(created_at)")} AS day,
                   CASE WHEN bool_or(outcome = 'answered') THEN 'answered'
                        WHEN bool_or(outcome = 'busy') THEN 'busy'
                        WHEN bool_or(outcome = 'no_answer') THEN 'no_answer'
                        ELSE 'other' END AS outcome
              FROM forward_legs WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3
             GROUP BY call_uuid, flow_node) AS f
     GROUP BY day
), messages AS (
    SELECT {_DAY.format(col="created_at")} AS day, count(*) AS voicemails
      FROM voicemails WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY 1
)
SELECT day, coalesce(c.calls, 0) AS calls, coalesce(r.blocked, 0) AS blocked, coalesce(r.refused, 0) AS refused,
       coalesce(f.forward_answered, 0) AS forward_answered, coalesce(f.forward_busy, 0) AS forward_busy,
       coalesce(f.forward_no_answer, 0) AS forward_no_answer, coalesce(f.forward_other, 0) AS forward_other,
       coalesce(m.voicemails, 0) AS voicemails, coalesce(c.hung_up_in_menu, 0) AS hung_up_in_menu
  FROM calls c
  FULL JOIN refused r USING (day)
  FULL JOIN forwards f USING (day)
  FULL JOIN messages m USING (day)
 ORDER BY day
"""


async def daily(pool: asyncpg.Pool, tenant_id: int, since: datetime, until: datetime) -> dict[date, dict[str, int]]:
    """Counts per Tokyo day that had any (days without are absent)."""
    rows = await pool.fetch(_DAILY, tenant_id, since, until)
    return {r["day"]: {k: v for k, v in dict(r).items() if k != "day"} for r in rows}


async def hourly(pool: asyncpg.Pool, tenant_id: int, since: datetime, until: datetime) -> dict[int, int]:
    """Answered calls per hour of the day (0-23, Tokyo), over the period."""
    rows = await pool.fetch(
        "SELECT extract(hour FROM started_at AT TIME ZONE 'Asia/Tokyo')::int AS hour, count(*) AS calls"
        " FROM ivr_call_log WHERE tenant_id = $1 AND started_at >= $2 AND started_at < $3 GROUP BY 1",
        tenant_id,
        since,
        until,
    )
    return {r["hour"]: r["calls"] for r in rows}


async def menu_choices(
    pool: asyncpg.Pool, tenant_id: int, since: datetime, until: datetime
) -> list[tuple[str, str, int]]:
    """(menu node, keys, times chosen), by node, most chosen first."""
    rows = await pool.fetch(
        "SELECT c->>'node' AS node, c->>'keys' AS keys, count(*) AS times"
        " FROM ivr_call_log, jsonb_array_elements(choices) AS c"
        " WHERE tenant_id = $1 AND started_at >= $2 AND started_at < $3"
        " GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2",
        tenant_id,
        since,
        until,
    )
    return [(r["node"], r["keys"], r["times"]) for r in rows]
