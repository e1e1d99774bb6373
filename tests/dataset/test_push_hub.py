"""``--push-to-hub``: the real ``huggingface_hub`` client against a local stand-in for the Hub's HTTP
API (create repo, validate the card's YAML, pre-upload, commit). Nothing leaves the machine."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from dojo import serving
from dojo.dataset import export_dataset
from dojo.dataset.hub import push_export
from dojo.errors import DojoError

sys.path.insert(0, str(Path(__file__).parent))
from storefill import SCORE, Spec, fill_store  # noqa: E402

TOKEN = "hf_local_test_token"


class FakeHub:
    """Just enough of the Hub's API for ``HfApi.create_repo`` and ``upload_folder``; keeps what it got."""

    def __init__(self) -> None:
        self.repos: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, bytes]] = {}
        self.auth: set[str | None] = set()
        self.app = FastAPI()
        self.endpoint = ""

        @self.app.middleware("http")
        async def check_token(request: Request, call_next: Any) -> Any:
            self.auth.add(request.headers.get("authorization"))
            if request.headers.get("authorization") != f"Bearer {TOKEN}":
                return JSONResponse({"error": "Invalid credentials"}, status_code=401)
            return await call_next(request)

        @self.app.post("/api/repos/create")
        async def create(body: dict[str, Any]) -> dict[str, Any]:
            name = f"{body['organization']}/{body['name']}" if body.get("organization") else body["name"]
            self.repos[name] = body
            return {"url": f"{self.endpoint}/datasets/{name}", "name": name}

        @self.app.post("/api/validate-yaml")
        async def validate(body: dict[str, Any]) -> Any:
            header = body["content"].split("---")[1]
            meta = yaml.safe_load(header)
            errors = [] if isinstance(meta.get("configs"), list) and "license" in meta else [{"message": "bad card"}]
            return JSONResponse({"errors": errors, "warnings": []}, status_code=400 if errors else 200)

        @self.app.post("/api/datasets/{owner}/{name}/preupload/{rev}")
        async def preupload(owner: str, name: str, rev: str, body: dict[str, Any]) -> dict[str, Any]:
            files = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in body["files"]]
            return {"files": files}

        @self.app.post("/api/datasets/{owner}/{name}/commit/{rev}")
        async def commit(owner: str, name: str, rev: str, request: Request) -> dict[str, Any]:
            got = self.files.setdefault(f"{owner}/{name}", {})
            for line in (await request.body()).decode().splitlines():
                item = json.loads(line)
                if item["key"] == "file":
                    got[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            oid = "0" * 40
            return {"commitUrl": f"{self.endpoint}/datasets/{owner}/{name}/commit/{oid}", "commitOid": oid}


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    fake = FakeHub()
    server = serving.start_thread(fake.app)
    fake.endpoint = server.url
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    try:
        yield fake
    finally:
        server.stop()


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    url = f"sqlite:///{tmp_path / 'v.db'}"
    fill_store(url, [Spec([f"<p>a{k}</p>" for k in range(3)], [[10, 5, 1], [9, 6, 2]], SCORE)])
    export_dataset(url, tmp_path / "out", fmt="parquet")
    return tmp_path / "out"


def test_push_uploads_the_export_and_its_card(hub: FakeHub, exported: Path) -> None:
    url = push_export(exported, "me/dojo-prefs", private=True, endpoint=hub.endpoint)
    assert url.startswith(hub.endpoint) and "me/dojo-prefs" in url
    assert hub.repos["me/dojo-prefs"]["type"] == "dataset" and hub.repos["me/dojo-prefs"]["visibility"] == "private"
    files = hub.files["me/dojo-prefs"]
    assert set(files) == {"README.md", "tasks.parquet", "pairs.parquet"}
    assert files["pairs.parquet"] == (exported / "pairs.parquet").read_bytes()
    assert hub.auth == {f"Bearer {TOKEN}"}


def test_hf_format_pushes_without_staging_folders(hub: FakeHub, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v.db'}"
    fill_store(url, [Spec([f"<p>a{k}</p>" for k in range(3)], [[10, 5, 1]], SCORE)])
    export_dataset(url, tmp_path / "hf", fmt="hf")
    push_export(tmp_path / "hf", "me/hf", endpoint=hub.endpoint)
    paths = set(hub.files["me/hf"])
    assert "README.md" in paths and "dataset_dict.json" in paths
    assert any(p.startswith("pairs/") and p.endswith(".arrow") for p in paths)
    assert not any("staging" in p or ".cache" in p for p in paths)


def test_no_token_or_a_bad_repo_is_a_clear_error(hub: FakeHub, exported: Path, monkeypatch) -> None:
    with pytest.raises(DojoError, match="owner/name"):
        push_export(exported, "just-a-name", endpoint=hub.endpoint)
    monkeypatch.setenv("HF_TOKEN", "wrong")
    with pytest.raises(DojoError, match="could not push to the Hub repo me/x"):
        push_export(exported, "me/x", endpoint=hub.endpoint)
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    with pytest.raises(DojoError, match="set HF_TOKEN"):
        push_export(exported, "me/x", endpoint=hub.endpoint)


def test_cli_push_to_hub(hub: FakeHub, tmp_path: Path, capsys, monkeypatch) -> None:
    sys.path.insert(0, str(Path(__file__).parents[1] / "cli"))
    from clirun import run_dojo

    url = f"sqlite:///{tmp_path / 'v.db'}"
    fill_store(url, [Spec([f"<p>a{k}</p>" for k in range(3)], [[10, 5, 1]], SCORE)])
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    args = ["dataset", "export", "--out", str(tmp_path / "o"), "--db-url", url, "--push-to-hub", "me/cli"]
    r = run_dojo(args, capsys, monkeypatch)
    assert r.code == 0, r.err
    assert "pushed to" in r.out and set(hub.files["me/cli"]) == {"README.md", "tasks.parquet", "pairs.parquet"}
