"""The visibility rule, checked through every labeller query production runs (list, fetch, submission).

A labeller sees a task only while linked to its miner by a live subscription key; if any of these
queries stopped filtering by ``linked_miner_ids``, one of the assertions below would fail.
"""

from __future__ import annotations

from itertools import product
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from tests.worker_api.helpers import new_account, task_json

from dojo.errors import ApiError
from dojo.worker_api.contexts.keys import create_key, delete_key, get_or_create_miner
from dojo.worker_api.contexts.labellers import add_partner, login_labeller
from dojo.worker_api.contexts.submission import submit_result
from dojo.worker_api.contexts.tasks import create_task, list_tasks, task_for_labeller
from dojo.worker_api.schemas import TaskCreateIn
from dojo.worker_api.store.db import make_engine, make_sessionmaker, migrate
from dojo.worker_api.store.models import SubscriptionKey
from dojo.worker_api.store.runner import Runner

STATUSES = ["all", "open", "completed", "expired", "closed"]
SORTS = ["newest", "oldest", "expiring", "most_answered"]


async def _listed(s: Runner, labeller: int) -> set[str]:
    """Every task id the labeller's list shows, over every status filter and sort."""
    seen: set[str] = set()
    for status, sort, answered in product(STATUSES, SORTS, [None, False]):
        items, total = await list_tasks(s, labeller, status=status, answered=answered, sort=sort, page=1, limit=100)
        assert total == len(items)
        seen |= {t["id"] for t in items}
    return seen


async def _fetched(s: Runner, labeller: int, task_id: str) -> bool:
    try:
        await task_for_labeller(s, labeller, task_id)
    except ApiError as exc:
        assert exc.status == 404
        return False
    return True


async def _refused_as_unseen(s: Runner, labeller: int, task: dict[str, Any], task_id: str) -> bool:
    """True when a submission is refused with the 404 of an invisible task."""
    scores = {r["completion_id"]: 5.0 for r in task["responses"]}
    with pytest.raises(ApiError) as err:
        await submit_result(s, labeller, task_id, {**scores, "not-a-completion": 1.0})  # never accepted
    return err.value.status == 404


async def test_visible_only_through_a_live_subscription_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    await migrate(url)
    engine = make_engine(url)
    run = Runner(url, engine)  # what production's list, fetch and submission run on
    async with make_sessionmaker(engine)() as s:
        alice = await get_or_create_miner(s, "5" + "A" * 47)
        bob = await get_or_create_miner(s, "5" + "B" * 47)
        key, prefix = await create_key(s, SubscriptionKey, alice.id, None)
        linked = await login_labeller(s, new_account().address)
        stranger = await login_labeller(s, new_account().address)
        await add_partner(s, linked, "alice", key)
        a_body, b_body = task_json(), task_json()
        alice_task = await create_task(s, alice.id, TaskCreateIn.model_validate(a_body), 3)
        bob_task = await create_task(s, bob.id, TaskCreateIn.model_validate(b_body), 3)

        assert await _listed(run, linked) == {alice_task}  # not another miner's task
        assert await _listed(run, stranger) == set()  # not linked
        assert await _fetched(run, linked, alice_task)
        assert not await _fetched(run, linked, bob_task)
        assert not await _fetched(run, stranger, alice_task)
        assert not await _fetched(run, linked, "no-such-task")
        assert not await _refused_as_unseen(run, linked, a_body, alice_task)  # seen: refused for its values (422)
        assert await _refused_as_unseen(run, linked, b_body, bob_task)
        assert await _refused_as_unseen(run, stranger, a_body, alice_task)

        await delete_key(s, SubscriptionKey, alice.id, prefix)  # the key is deleted: gone at once, everywhere
        assert await _listed(run, linked) == set()
        assert not await _fetched(run, linked, alice_task)
        assert await _refused_as_unseen(run, linked, a_body, alice_task)

        await s.execute(update(SubscriptionKey).values(deleted_at=None))  # undeleted (not an API feature)
        await s.commit()
        assert await _listed(run, linked) == {alice_task}
        assert await _fetched(run, linked, alice_task)
    await run.close()
    await engine.dispose()
