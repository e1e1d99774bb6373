"""Fuzzing the external-task API's published OpenAPI (bounded): no input gives a 5xx, and every reply is one the
document lists, in the shape it documents (status code, content type and body schema conformance)."""

from __future__ import annotations

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
from tests.worker_api.server import serve

from dojo.config import load_settings
from dojo.validator.external import create_external_app
from dojo.validator.store.repo import ValidatorStore

TOKEN = "fuzz-token"
MAX_EXAMPLES = 15
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _fuzz(op: Any, base: str, mode: GenerationMode, headers: dict[str, str] | None, seen: list[str]) -> None:
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        try:
            resp = case.call(base_url=base, headers=headers, timeout=20)
        except (ValueError, UnicodeError):  # the client itself refuses to send some generated inputs
            return
        seen.append(str(resp.status_code))
        assert resp.status_code < 500, f"{case.method} {case.formatted_path} -> {resp.status_code}: {resp.text[:300]}"
        case.validate_response(resp, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
        assert mode is GenerationMode.NEGATIVE, op.label


@pytest.mark.timeout(180)
def test_external_api_replies_are_the_documented_ones(store: ValidatorStore, tmp_home: Any) -> None:
    app = create_external_app(load_settings(validator__external_api_token=TOKEN), store)
    with serve(app) as base:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        made = httpx.post(
            base + "/api/v1/external-tasks",
            json={
                "prompt": "Which page is best?",
                "responses": [
                    {"completion_id": "0b8f2a3c-1d4e-4f5a-8b6c-7d8e9f0a1b2c", "content": "<p>a</p>"},
                    {"completion_id": "1c9a3b4d-2e5f-4a6b-9c7d-8e9f0a1b2c3d", "content": "<p>b</p>"},
                ],
            },
            headers=auth,
        )
        assert made.status_code == 201, made.text
        schema = schemathesis.openapi.from_url(base + "/openapi.json")
        seen: list[str] = []
        n_ops = 0
        for result in schema.get_all_operations():
            op = result.ok()
            n_ops += 1
            _fuzz(op, base, GenerationMode.POSITIVE, auth, seen)
            _fuzz(op, base, GenerationMode.NEGATIVE, auth, seen)
            _fuzz(op, base, GenerationMode.POSITIVE, None, seen)
        assert n_ops >= 6, n_ops
        # the fuzzing reached past authentication and validation, not just 401/422
        assert {"200", "401", "422"} <= set(seen), sorted(set(seen))
        oversized = httpx.post(base + "/api/v1/external-tasks", content=b"x" * (9 * 1024 * 1024), headers=auth)
        assert oversized.status_code == 413 and set(oversized.json()) == {"detail"}
