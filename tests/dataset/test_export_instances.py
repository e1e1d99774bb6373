"""The export over real rounds with per-miner instances: one row per instance, one miner's labels each;
a shared external task is one row with every miner's labels and no ground truth."""

from __future__ import annotations

import json
import sys
import uuid
from collections import Counter
from pathlib import Path

from dojo.dataset import export_dataset
from dojo.validator.engine import Engine, EngineConfig
from dojo.validator.external import ExternalQueue, ExternalTaskIn
from dojo.validator.store.repo import ValidatorStore

sys.path.insert(0, str(Path(__file__).parents[1] / "validator"))
from vfakes import Clock, FakeChain, FakeGateway, FakeMiner, ListSource, tag_obfuscate, targets  # noqa: E402

V = "5ValidatorHotkeyxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"


async def test_rows_per_instance_and_per_shared_external_task(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v.db'}"
    store = ValidatorStore(url)
    queue = ExternalQueue(store)
    queue.add(
        ExternalTaskIn.model_validate(
            {
                "prompt": "Which page is best?",
                "responses": [
                    {"completion_id": str(uuid.uuid4()), "content": f"<p>resp-rank-{k}</p>"} for k in range(4)
                ],
            }
        )
    )
    kinds = ["good", "good", "reverse", "good"]
    miners = targets(kinds)
    gw = FakeGateway({m.hotkey: FakeMiner(b) for m, b in zip(miners, kinds, strict=True)})
    clock = Clock()
    cfg = EngineConfig(deadline_s=60, tasks_per_round=2, seed=2, external_max_share=0.5)
    eng = Engine(store, gw, ListSource(), FakeChain(miners, V), None, V, cfg, tag_obfuscate, clock, queue)
    eng.active = miners
    for _ in range(2):
        await eng.start_round()
        await eng.dispatch()
        clock.advance(61)
        await eng.collect()
        await eng.score()
        await eng.feedback()
    store.dispose()

    summary = export_dataset(url, tmp_path / "out", fmt="jsonl", batch_size=3)  # pages through equal timestamps
    rows = [json.loads(x) for x in (tmp_path / "out" / "tasks.jsonl").read_text().splitlines()]
    external = [r for r in rows if r["source"] == "external"]
    synthetic = [r for r in rows if r["source"] == "synthetic"]
    # 2 rounds x 4 miners x 2 tasks = 16 copies: 3 of them the external task, the other 13 each their own instance
    assert summary.tasks == len(rows) == 14 and len(external) == 1 and len(synthetic) == 13
    assert len({r["task_id"] for r in rows}) == 14 and len({r["prompt"] for r in synthetic}) == 13
    for r in synthetic:
        assert len({lab["miner_hotkey"] for lab in r["labels"]}) == 1 and r["n_labellers"] == 2
        assert sorted(g["rank"] for g in r["ground_truth"]) == [0, 1, 2, 3]
    assert Counter(lab["miner_hotkey"] for r in synthetic for lab in r["labels"]) == {
        m.hotkey: 2 * (4 - (m.hotkey in {lab["miner_hotkey"] for lab in external[0]["labels"]})) for m in miners
    }
    ext = external[0]
    assert ext["ground_truth"] is None and len({lab["miner_hotkey"] for lab in ext["labels"]}) == 3
    assert ext["n_labellers"] == 6
