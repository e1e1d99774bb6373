"""The procedural generator: deterministic, valid documents, a strict ladder, exact ground truth."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from dojo.synthetic.ladder import LADDER, Item, plan
from dojo.synthetic.models import SyntheticTask
from dojo.synthetic.procedural import FAMILIES, actions_for, generate_task
from dojo.synthetic.surface import MARKER, unseal
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


FAMILY_NAMES = sorted(FAMILIES)


def _split(doc: str) -> tuple[str, str]:
    """(the program with its configuration element cut out, the element)."""
    start = doc.index('<script type="text/plain" id="dojo-config">')
    end = doc.index("</script>", start) + len("</script>")
    return doc[:start] + MARKER + doc[end:], doc[start:end]


def test_template_answers_are_one_program_with_the_ladder_in_their_configuration() -> None:
    """Every answer is the same text but for its configuration, and the configuration is the ladder entry."""
    for name in FAMILY_NAMES:
        family = FAMILIES[name]
        templates = set()
        for seed in range(40):
            task = generate_task(seed, n_responses=5, family=name)
            params = task.metadata["params"]
            docs = {str(r.completion_id): r.content for r in task.responses}
            split = {cid: _split(doc) for cid, doc in docs.items()}
            assert len({program for program, _ in split.values()}) == 1, f"{name} seed {seed}: programs differ"
            templates.add(next(iter(split.values()))[0])
            asked = set(task.metadata["requested"])
            every = [f.key for f in family.features(params) + family.extras(params)]
            drifts = {d.name: d for d in family.drifts(params)}
            for entry in task.metadata["ladder"]:
                config = unseal(split[entry["completion_id"]][1])
                on = {k for k, v in config["on"].items() if v}
                assert set(config["on"]) == set(every)
                assert on == (asked - set(entry["removed"])) | set(entry["added"])
                assert {k for k, v in config["broken"].items() if v} == set(entry["broken"])
                assert [pair[0] for pair in entry["swapped"]] == entry["removed"]
                expected = family.runtime(params)
                for d in entry["drifted"]:
                    drift = drifts[d["param"]]
                    assert d["given"] != d["requested"] == drift.get(params)
                    expected = family.runtime(drift.put(params, d["given"]))
                assert config["p"] == expected
        # one text for every task: no parameter of any prompt can be in it
        assert len(templates) == 1, f"{name}: the program text depends on the task's parameters"


def test_template_ladder_is_cumulative_and_meaningful() -> None:
    for name in FAMILY_NAMES:
        for seed in range(60):
            task = generate_task(seed, n_responses=5, family=name)
            entries = sorted(task.metadata["ladder"], key=lambda e: e["step"])
            asked = set(task.metadata["requested"])
            assert [len(e["swapped"]) for e in entries] == [0, 1, 1, 1, 2]
            assert [len(e["drifted"]) for e in entries] == [0, 0, 1, 1, 1]
            assert [len(e["broken"]) for e in entries] == [0, 0, 0, 1, 1]
            for prev, cur in zip(entries, entries[1:], strict=False):
                assert prev["swapped"] == cur["swapped"][: len(prev["swapped"])]
                assert prev["drifted"] == cur["drifted"][: len(prev["drifted"])]
            family = FAMILIES[name]
            feats = {
                f.key: f for f in family.features(task.metadata["params"]) + family.extras(task.metadata["params"])
            }
            last = entries[-1]
            for out, into in last["swapped"]:
                assert out in asked and into not in asked
            out, into = last["swapped"][0]
            assert feats[out].is_action == feats[into].is_action, f"{name} seed {seed}: {out} for {into}"
            assert last["broken"][0] in asked and feats[last["broken"][0]].is_action
            assert last["broken"][0] not in last["removed"]


def test_ladder_plan_is_cumulative() -> None:
    rng = random.Random(1)
    items = [Item("a", False), Item("b", False), Item("c", True), Item("d", True), Item("e", True)]
    extra = [Item("x", False), Item("y", True), Item("z", False)]
    for _ in range(200):
        steps = plan(items, extra, [("p", None), ("q", "c")], 5, rng, lambda name: (1, 2))
        assert [s.step for s in steps] == [0, 1, 2, 3, 4]
        assert steps[0].is_faithful
        for prev, cur in zip(steps, steps[1:], strict=False):
            assert set(prev.swapped) <= set(cur.swapped) and set(prev.drifted) <= set(cur.drifted)
            assert set(prev.broken) <= set(cur.broken)
        assert len(steps[1].swapped) == 1 and steps[2].drifted and steps[3].broken and len(steps[4].swapped) == 2
        for s in steps:
            assert not set(s.broken) & set(s.removed)
            if s.drifted and s.drifted[0].param == "q":
                assert "c" not in s.removed and "c" not in s.broken


def test_requested_features_bring_what_they_require() -> None:
    for seed in range(300):
        task = generate_task(seed)
        family = FAMILIES[task.metadata["family"]]
        params = task.metadata["params"]
        feats = {f.key: f for f in family.features(params) + family.extras(params)}
        requested = set(task.metadata["requested"])
        for key in requested:
            assert set(feats[key].requires) <= requested
