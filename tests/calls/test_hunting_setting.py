"""The minimum talk is a group setting: set through the service layer (audited), bounded, one minute by default."""

from __future__ import annotations

import asyncpg
import pytest
from pydantic import ValidationError

from daemon.repositories import audit, groups
from daemon.services import groups as service
from daemon.services.actor import Actor
from daemon.services.inputs import GroupIn
from tests.factories import shop


async def test_minimum_talk_defaults_to_a_minute_and_is_audited_when_changed(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    actor = Actor.tenant_token(s.tenant_id)
    group_id = await service.create_group(
        pool, actor, s.tenant_id, GroupIn(code="12", name="tarot", rate_yen_per_min=600)
    )
    assert (await groups.get(pool, s.tenant_id, group_id)).minimum_talk_seconds == 60
    body = GroupIn(code="12", name="tarot", rate_yen_per_min=600, minimum_talk_seconds=180)
    await service.update_group(pool, actor, s.tenant_id, group_id, body)
    assert (await groups.get(pool, s.tenant_id, group_id)).minimum_talk_seconds == 180
    assert (await groups.group_by_code(pool, s.tenant_id, "12")).minimum_talk_seconds == 180  # type: ignore[union-attr]
    [update, _] = await audit.recent(pool, s.tenant_id)
    assert update.action == "group.update"
    assert update.before["minimum_talk_seconds"] == 60 and update.after["minimum_talk_seconds"] == 180


@pytest.mark.parametrize("seconds", [0, 3601])
def test_minimum_talk_is_bounded(seconds: int) -> None:
    with pytest.raises(ValidationError):
        GroupIn(code="12", name="tarot", rate_yen_per_min=600, minimum_talk_seconds=seconds)


async def test_the_database_refuses_what_the_form_would(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    with pytest.raises(ValueError, match="minimum_talk"):
        await groups.create(
            pool, s.tenant_id, code="1", name="g", rate_yen_per_min=1, members=[], minimum_talk_seconds=0
        )
