"""The procedural generator: deterministic, valid documents, a strict ladder, exact ground truth."""

from __future__ import annotations

import random
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from dojo.synthetic.ladder import LADDER, plan
from dojo.synthetic.models import SyntheticTask
from dojo.synthetic.procedural import FAMILIES, Build, actions_for, generate_task
from dojo.synthetic.validation import documents_errors


def _check_task(task: SyntheticTask, n: int = 4) -> None:
    assert len(task.responses) == n
    ids = {r.completion_id for r in task.responses}
    assert len(ids) == n
    assert set(task.ground_truth) == ids
    assert sorted(task.ground_truth.values()) == list(range(n))
    errors = documents_errors([r.content for r in task.responses])
    for r, err in zip(task.responses, errors, strict=True):
        assert task.ground_truth[r.completion_id] == r.ladder_step
        assert err is None, f"seed {task.metadata['seed']} step {r.ladder_step}: {err}"
    by_step = {r.ladder_step: r.content for r in task.responses}
    for step in range(1, n):
        assert by_step[step] != by_step[0], f"seed {task.metadata['seed']}: step {step} equals the base"
        assert by_step[step] != by_step[step - 1], f"seed {task.metadata['seed']}: step {step} equals step {step - 1}"
    assert "Features:" in task.prompt and "User actions:" in task.prompt
    assert task.prompt.index("Features:") < task.prompt.index("User actions:")


def test_thousand_random_seeds_validate_and_degrade() -> None:
    rng = random.Random(20261124)
    families = set()
    for _ in range(1000):
        task = generate_task(rng.randrange(2**63))
        _check_task(task)
        families.add(task.metadata["family"])
    assert families == set(FAMILIES)


@settings(max_examples=60, deadline=None, database=None)
@given(seed=st.integers(min_value=0, max_value=2**63 - 1), n=st.integers(min_value=2, max_value=len(LADDER)))
def test_any_seed_and_size_gives_a_valid_task(seed: int, n: int) -> None:
    _check_task(generate_task(seed, n_responses=n), n)


def test_same_seed_same_task_other_seed_other_task() -> None:
    a, b = generate_task(42), generate_task(42)
    assert a.model_dump_json() == b.model_dump_json()
    assert generate_task(43).model_dump_json() != a.model_dump_json()


def test_thousands_of_distinct_prompts() -> None:
    prompts = {generate_task(s).prompt for s in range(3000)}
    assert len(prompts) > 2900


def test_metadata_names_family_params_and_ladder() -> None:
    task = generate_task(7)
    meta = task.metadata
    assert meta["family"] in FAMILIES and meta["params"] and meta["generator"] == "procedural"
    steps = {entry["completion_id"]: entry["step"] for entry in meta["ladder"]}
    assert steps == {str(k): v for k, v in task.ground_truth.items()}
    assert meta["tokens"] == {"prompt": 0, "completion": 0} and meta["cost_usd"] == 0.0
    assert [r.model for r in task.responses] == [f"procedural/{meta['family']}"] * 4


def test_completion_order_does_not_reveal_rank() -> None:
    orders = {tuple(r.ladder_step for r in generate_task(s).responses) for s in range(50)}
    assert len(orders) > 5


def test_actions_have_stable_selectors_present_in_the_base() -> None:
    for seed in range(40):
        task = generate_task(seed)
        base = next(r.content for r in task.responses if r.ladder_step == 0)
        assert "window.__dojoState" in base
        acts = actions_for(task)
        assert len(acts) >= 3
        for a in acts:
            assert a.kind in {"click", "fill", "press", "click-at"}
            if a.selector.startswith("#"):
                assert f'id="{a.selector[1:]}"' in base


def test_removed_controls_disappear_and_broken_ones_stay() -> None:
    """A removed user action loses its control (or its handler); a broken one keeps its control."""
    seen_broken = 0
    for seed in range(60):
        task = generate_task(seed)
        family = FAMILIES[task.metadata["family"]]
        feats = {f.key: f for f in family.features(task.metadata["params"])}
        docs = {r.completion_id: r.content for r in task.responses}
        for entry in task.metadata["ladder"]:
            doc = docs[next(c for c in docs if str(c) == entry["completion_id"])]
            for key in entry["broken"]:
                action = feats[key].action
                assert action is not None
                if action.selector.startswith("#") and action.selector != "#dojo-canvas":
                    assert f'id="{action.selector[1:]}"' in doc
                    seen_broken += 1
            for key in entry["removed"]:
                action = feats[key].action
                if action is not None and action.selector.startswith("#") and action.selector != "#dojo-canvas":
                    assert not re.search(f'id="{action.selector[1:]}"', doc)
    assert seen_broken > 0


def test_ladder_plan_is_cumulative() -> None:
    rng = random.Random(1)
    for _ in range(200):
        steps = plan(["a", "b", "c", "d", "e"], ["c", "d"], ["x"], 5, rng)
        assert [s.step for s in steps] == [0, 1, 2, 3, 4]
        assert steps[0].is_faithful
        for prev, cur in zip(steps, steps[1:], strict=False):
            assert set(prev.removed) <= set(cur.removed)
            assert set(prev.broken) <= set(cur.broken)
        assert len(steps[1].removed) == 1 and len(steps[2].removed) == 2
        assert steps[3].broken or steps[3].added
        for s in steps:
            assert not set(s.broken) & set(s.removed)


def test_every_feature_flag_changes_the_document() -> None:
    """No feature is a no-op in a renderer: removing, breaking or adding it always shows in the document."""
    for name, family in FAMILIES.items():
        for seed in range(12):
            params = family.sample(random.Random(seed))
            feats = family.features(params)
            keys = frozenset(f.key for f in feats)
            full = family.render(params, Build(present=keys))
            for f in feats:
                assert family.render(params, Build(present=keys - {f.key})) != full, f"{name}: removing {f.key}"
                if f.is_action:
                    assert family.render(params, Build(present=keys, broken=frozenset({f.key}))) != full, (
                        f"{name}: breaking {f.key}"
                    )
                for req in f.requires:
                    assert req in keys, f"{name}: {f.key} requires unknown {req}"
            for extra in family.extras(params):
                assert extra.key not in keys
                assert family.render(params, Build(present=keys, extras=frozenset({extra.key}))) != full, (
                    f"{name}: adding {extra.key}"
                )


def test_requested_features_bring_what_they_require() -> None:
    for seed in range(300):
        task = generate_task(seed)
        family = FAMILIES[task.metadata["family"]]
        feats = {f.key: f for f in family.features(task.metadata["params"])}
        requested = set(task.metadata["requested"])
        for key in requested:
            assert set(feats[key].requires) <= requested
