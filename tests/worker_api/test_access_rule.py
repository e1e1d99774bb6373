"""The visibility rule as one function, against the store directly."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import update
from tests.worker_api.helpers import new_account, task_json

from dojo.worker_api.contexts.access import visible_task
from dojo.worker_api.contexts.keys import create_key, delete_key, get_or_create_miner
from dojo.worker_api.contexts.labellers import add_partner, login_labeller
from dojo.worker_api.contexts.tasks import create_task
from dojo.worker_api.schemas import TaskCreateIn
from dojo.worker_api.store.db import make_engine, make_sessionmaker, migrate
from dojo.worker_api.store.models import SubscriptionKey


async def test_visible_only_through_a_live_subscription_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    await migrate(url)
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as s:
        alice = await get_or_create_miner(s, "5" + "A" * 47)
        bob = await get_or_create_miner(s, "5" + "B" * 47)
        key, prefix = await create_key(s, SubscriptionKey, alice.id, None)
        linked = await login_labeller(s, new_account().address)
        stranger = await login_labeller(s, new_account().address)
        await add_partner(s, linked, "alice", key)
        alice_task = await create_task(s, alice.id, TaskCreateIn.model_validate(task_json()), 3)
        bob_task = await create_task(s, bob.id, TaskCreateIn.model_validate(task_json()), 3)
        assert (await visible_task(s, linked, alice_task)) is not None
        assert await visible_task(s, linked, bob_task) is None  # another miner's task
        assert await visible_task(s, stranger, alice_task) is None  # not linked
        assert await visible_task(s, linked, "no-such-task") is None
        await delete_key(s, SubscriptionKey, alice.id, prefix)
        assert await visible_task(s, linked, alice_task) is None  # the key is deleted: gone at once
        await s.execute(update(SubscriptionKey).values(deleted_at=None))  # undeleted (not an API feature)
        await s.commit()
        assert await visible_task(s, linked, alice_task) is not None
    await engine.dispose()
