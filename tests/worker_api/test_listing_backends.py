"""The labeller's task list (one round trip: page + total) gives the same answers on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from tests.worker_api.conftest import make_settings
from tests.worker_api.helpers import (
    body,
    create_task,
    keypair,
    labeller_login,
    link,
    metagraph_of,
    miner_login,
    new_key,
    scores_for,
)

from dojo.worker_api.app import create_app


async def _check_listing(tmp_home: Path, db_url: str | None) -> None:
    settings = make_settings(tmp_home / ".dojo", db_url)
    app = create_app(settings, metagraph=lambda: metagraph_of(keypair("//Alice").ss58_address))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            miner = await miner_login(c, keypair("//Alice"))
            api_key = await new_key(c, miner, "api-keys")
            _, lab = await labeller_login(c)

            async def page(**params: object) -> dict:
                return body(await c.get("/api/v1/tasks", params=params, headers=lab))  # type: ignore[arg-type]

            assert await page() == {"tasks": [], "page": 1, "limit": 20, "total": 0}  # not linked yet
            await link(c, lab, await new_key(c, miner, "subscription-keys"))
            made = [await create_task(c, api_key, expire_in_s=600 + i * 10, max_results=1 + i % 2) for i in range(5)]
            ids = [t[0] for t in made]
            body(await c.put(f"/api/v1/tasks/{ids[0]}/result", json={"scores": scores_for(made[0][1])}, headers=lab))
            assert [t["id"] for t in (await page(sort="newest"))["tasks"]] == ids[::-1]
            assert [t["id"] for t in (await page(sort="expiring"))["tasks"]] == ids
            pages = [await page(sort="oldest", limit=2, page=n) for n in (1, 2, 3, 4)]
            assert [t["id"] for p in pages for t in p["tasks"]] == ids
            assert [p["total"] for p in pages] == [5, 5, 5, 5] and pages[3]["tasks"] == []  # past the end: total kept
            top = (await page(sort="most_answered"))["tasks"]
            assert top[0]["id"] == ids[0] and top[0]["answered"] is True and top[0]["status"] == "completed"
            assert (await page(status="completed"))["total"] == 1 and (await page(status="open"))["total"] == 4
            assert (await page(answered="false", type="score"))["total"] == 4
            assert (await page(type="ranking"))["total"] == 0


async def test_listing_on_sqlite(tmp_home: Path) -> None:
    await _check_listing(tmp_home, None)


@pytest.mark.postgres
async def test_listing_on_postgres(tmp_home: Path, pg_url: str) -> None:
    await _check_listing(tmp_home, pg_url)
