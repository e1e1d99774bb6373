"""Fuzzing the published OpenAPI with schemathesis (bounded examples): no input gives a 5xx, and every reply is one
the document lists, in the shape it documents (status code, content type and body schema conformance)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from tests.worker_api.conftest import ALICE, make_settings
from tests.worker_api.helpers import create_task, keypair, labeller_login, link, metagraph_of, miner_login, new_key
from tests.worker_api.server import serve

from dojo.worker_api.app import create_app

MAX_EXAMPLES = 10
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


async def _world(base: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base) as c:
        miner = await miner_login(c, keypair(ALICE))
        api_key = await new_key(c, miner, "api-keys")
        _, lab = await labeller_login(c)
        await link(c, lab, await new_key(c, miner, "subscription-keys"))
        tid, _ = await create_task(c, api_key)
    return {"miner": miner, "labeller": lab, "api_key": api_key, "task_id": tid}


def _fuzz(
    op: Any,
    base: str,
    mode: GenerationMode,
    headers: dict[str, str] | None,
    path_parameters: dict[str, Any] | None,
    seen: list[str],
) -> None:
    strategy = op.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        try:
            resp = case.call(base_url=base, headers=headers, timeout=20)
        except (ValueError, UnicodeError) as exc:  # the client itself refuses to send some generated inputs
            seen.append(f"unsendable {type(exc).__name__}")
            return
        seen.append(str(resp.status_code))
        assert resp.status_code < 500, f"{case.method} {case.formatted_path} -> {resp.status_code}: {resp.text[:300]}"
        if "application/json" in str(resp.headers.get("content-type")):
            assert set(resp.json()) == {"success", "body", "error"}, resp.text[:300]
        case.validate_response(resp, checks=CHECKS)  # documented status, content type and body shape

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
        assert mode is GenerationMode.NEGATIVE, op.label


@pytest.mark.timeout(120)
def test_openapi_fuzzing_finds_no_5xx(tmp_home: Path) -> None:
    graph = metagraph_of(keypair(ALICE).ss58_address)
    app = create_app(make_settings(tmp_home / ".dojo"), metagraph=lambda: graph)
    with serve(app) as base:
        world = asyncio.run(_world(base))
        schema = schemathesis.openapi.from_url(base + "/openapi.json")
        seen: list[str] = []
        n_ops = 0
        for result in schema.get_all_operations():
            op = result.ok()
            n_ops += 1
            miner_side = op.path.startswith("/api/v1/miner/")
            auth = {
                "Authorization": world["miner"]["Authorization"] if miner_side else world["labeller"]["Authorization"],
                "X-API-KEY": world["api_key"],
            }
            params = {"task_id": world["task_id"]} if "{task_id}" in op.path else None
            _fuzz(op, base, GenerationMode.POSITIVE, auth, params, seen)
            _fuzz(op, base, GenerationMode.NEGATIVE, auth, None, seen)
            _fuzz(op, base, GenerationMode.POSITIVE, None, None, seen)
        assert n_ops >= 18, n_ops
        # the fuzzing reached past authentication and validation, not just 401/422
        assert {"200", "401", "404", "422"} <= set(seen), sorted(set(seen))


async def test_an_unparsable_body_is_a_documented_400(client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/v1/worker/login", content=b"\xff\xfe{", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and "could not be parsed" in resp.json()["error"]
    spec = (await client.get("/openapi.json")).json()
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            replies = op["responses"]
            if path.startswith("/api/v1/"):
                assert {"401", "422", "429", "503"} <= set(replies), (method, path, sorted(replies))
                if "requestBody" in op:
                    assert "400" in replies, (method, path)
            for code, reply in replies.items():
                if code != "200" and "application/json" in reply.get("content", {}):
                    assert "Reply" in reply["content"]["application/json"]["schema"]["$ref"], (method, path, code)


async def test_options_and_unknown_api_paths_are_answered_by_the_api(client: httpx.AsyncClient) -> None:
    resp = await client.options("/api/v1/tasks")
    assert resp.status_code == 204 and resp.headers["Allow"] == "GET, POST, OPTIONS"
    resp = await client.options("/api/v1/tasks/some-id/result")
    assert resp.status_code == 204 and resp.headers["Allow"] == "PUT, OPTIONS"
    resp = await client.delete("/api/v1/tasks")
    assert resp.status_code == 405 and resp.headers["Allow"] == "GET, POST, OPTIONS"
    assert resp.json() == {
        "success": False,
        "body": None,
        "error": "DELETE is not allowed here: use GET, POST, OPTIONS",
    }
    resp = await client.get("/api/v1/no-such-thing")
    assert resp.status_code == 404 and resp.json()["success"] is False and "/openapi.json" in resp.json()["error"]
    assert (await client.options("/health")).status_code == 204
    assert (await client.options("/")).headers["Allow"] == "GET, HEAD, OPTIONS"  # the web UI's page
    assert (await client.get("/")).status_code == 200  # and the page itself is still served
