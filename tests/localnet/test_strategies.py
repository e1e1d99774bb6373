"""Miner strategies read only what a miner is sent: sizes for the length bot, prompts and documents
for the reseller, a shared hash for the colluders — never the hidden order or the original ids."""

from __future__ import annotations

import random

import numpy as np
import pytest
from scipy.stats import spearmanr

from dojo.localnet import strategies as st
from dojo.localnet.skills import Skill
from dojo.protocol import RankingCriterion, ScoreCriterion
from dojo.synthetic.procedural import generate_task
from dojo.validator.copies import build_copy, copy_rng
from dojo.validator.sources import from_synthetic
from dojo.validator.store.records import NewTask

SCORE = ScoreCriterion(min=1, max=10)


def _copy(task: NewTask, hotkey: str, obfuscate: bool = True) -> tuple[st.TaskView, dict[str, str]]:
    """A miner's copy as the validator builds it, and its map back to the original ids."""
    from dojo.obfuscation import obfuscate_html

    plan = build_copy(task, hotkey, copy_rng(7, task.id, hotkey), obfuscate_html if obfuscate else None)
    p = plan.payload
    return st.TaskView.of(p["prompt"], p["responses"], p["criteria"]), plan.completion_map


def _rho(answer: dict[str, int], ranks: dict[str, int]) -> float:
    ids = sorted(answer)
    a = [answer[c] for c in ids]
    if len(set(a)) < 2:
        return 0.0
    return float(spearmanr(a, [-ranks[c] for c in ids]).statistic)


def test_lengthbot_reads_only_document_sizes() -> None:
    rng = random.Random(0)
    sizes = [300, 1200, 50, 700]
    view = st.TaskView("p", tuple((f"c{i}", "x" * n) for i, n in enumerate(sizes)), SCORE)
    other = st.TaskView(
        "q", tuple((f"c{i}", "".join(rng.choice("ab<>") for _ in range(n))) for i, n in enumerate(sizes)), SCORE
    )
    assert st.lengthbot(view) == st.lengthbot(other) == {"c1": 10, "c3": 7, "c0": 4, "c2": 1}
    ranking = st.TaskView("p", view.responses, RankingCriterion())
    assert st.lengthbot(ranking) == {"c1": 0, "c3": 1, "c0": 2, "c2": 3}


def test_a_view_reads_its_criteria_as_the_typed_model() -> None:
    """What the worker API or a copy's payload sends (JSON) becomes the protocol's criterion."""
    responses = [{"completion_id": "c0", "content": "a"}, {"completion_id": "c1", "content": "bb"}]
    score = st.TaskView.of("p", responses, {"type": "score", "min": 0, "max": 5})
    assert score.criteria == ScoreCriterion(min=0, max=5) and not score.ranking and score.bounds == (0, 5)
    assert st.from_order(score, ["c1", "c0"]) == {"c1": 5, "c0": 0}
    ranking = st.TaskView.of("p", responses, {"type": "ranking"})
    assert ranking.criteria == RankingCriterion() and ranking.ranking
    assert st.from_order(ranking, ["c1", "c0"]) == {"c1": 0, "c0": 1}
    with pytest.raises(ValueError):
        st.TaskView.of("p", responses, {"type": "stars"})


def test_lengthbot_sees_through_the_wrapper() -> None:
    """On an obfuscated copy it ranks by the documents the wrapper writes, not by the wrapper's size."""
    from dojo.obfuscation import unwrap_document

    view, _ = _copy(from_synthetic(generate_task(3)), "hk-a")
    assert all(st.document_text(c) != c for _, c in view.responses)
    unwrapped = st.TaskView(view.prompt, tuple((c, unwrap_document(x)) for c, x in view.responses), view.criteria)
    assert st.lengthbot(view) == st.lengthbot(unwrapped)


def test_human_skills_keep_their_signal() -> None:
    view = st.TaskView("p", tuple((f"c{i}", "") for i in range(4)), SCORE)
    ranks = {"c0": 2, "c1": 0, "c2": 3, "c3": 1}
    rng = random.Random(1)
    assert _rho(st.human(Skill.careful, view, ranks, rng), ranks) > 0.7
    assert _rho(st.human(Skill.adversarial, view, ranks, rng), ranks) == pytest.approx(-1.0)
    ranking = st.TaskView("p", view.responses, RankingCriterion())
    assert sorted(st.human(Skill.careful, ranking, ranks, rng).values()) == [0, 1, 2, 3]


def test_copier_maps_a_shared_task_without_hidden_ids() -> None:
    """Two miners' copies of one task (fresh ids, shuffled, obfuscated differently): the reseller finds the
    source task among others by its prompt and carries each value to the same document."""
    tasks = [from_synthetic(generate_task(s)) for s in (11, 12, 13)]
    truth = tasks[1].ground_truth
    assert truth is not None
    pool = []
    source_maps = {}
    for t in tasks:
        view, cmap = _copy(t, "source")
        answer = {c: 10 - 3 * (t.ground_truth or {})[cmap[c]] for c in view.ids}
        pool.append(st.SoldTask(view, (answer, answer)))
        source_maps[t.id] = cmap
    mine, my_map = _copy(tasks[1], "reseller")
    assert not set(mine.ids) & set(pool[1].view.ids)  # nothing in common but the documents' meaning
    sold = st.match_task(mine, pool)
    assert sold is pool[1]
    answers = st.copier(mine, pool, random.Random(2))
    assert len(answers) == 2
    for a in answers:
        by_orig = {my_map[c]: v for c, v in a.items()}
        expected = {orig: 10 - 3 * rank for orig, rank in truth.items()}
        diffs = [abs(by_orig[c] - expected[c]) for c in expected]
        assert sorted(diffs) == [0, 0, 0, 1]  # one score moved by one: a near copy, not an exact one


def test_copier_on_another_instance_still_answers_every_completion() -> None:
    """With per-miner instances there is no same task: the reseller takes the closest prompt and pairs
    documents by size order, so it still sells the source's values (one moved by ±1) for every answer."""
    for s in range(10):
        family = str(generate_task(1000 + s).metadata["family"])
        source = from_synthetic(generate_task(1000 + s))
        mine = from_synthetic(generate_task(2000 + s, family=family))
        sview, smap = _copy(source, "source", obfuscate=False)
        answer = {c: 10 - 3 * (source.ground_truth or {})[smap[c]] for c in sview.ids}
        mview, _ = _copy(mine, "reseller", obfuscate=False)
        sold = st.copier(mview, [st.SoldTask(sview, (answer,))], random.Random(s))
        assert len(sold) == 1 and set(sold[0]) == set(mview.ids)
        src, got = sorted(answer.values()), sorted(sold[0].values())
        assert sum(abs(x - y) for x, y in zip(src, got, strict=True)) == 1


def test_colluders_agree_on_a_shared_task_but_vary_their_values() -> None:
    identical = 0
    for s in range(12):
        task = from_synthetic(generate_task(500 + s))
        answers = []
        for member in range(4):
            view, cmap = _copy(task, f"colluder-{member}")
            answers.append({cmap[c]: v for c, v in st.colluder(view, member).items()})
        orders = {tuple(sorted(a, key=lambda c: -a[c])) for a in answers}
        assert len(orders) == 1  # one shared order whatever the copy
        identical += sum(answers[i] == answers[j] for i in range(4) for j in range(i + 1, 4))
    assert identical <= 0.2 * 12 * 6  # exact-match guards see different answers


def test_colluders_pattern_carries_no_truth() -> None:
    rhos = []
    for s in range(200):
        task = generate_task(s)
        view = st.TaskView.of(
            task.prompt, [{"completion_id": str(r.completion_id), "content": r.content} for r in task.responses], SCORE
        )
        rhos.append(_rho(st.colluder(view, 0), {str(k): v for k, v in task.ground_truth.items()}))
    assert abs(float(np.mean(rhos))) < 0.15


def test_perturb_moves_one_value_within_range() -> None:
    view = st.TaskView("p", tuple((f"c{i}", "") for i in range(4)), SCORE)
    rng = random.Random(4)
    for _ in range(50):
        a = {"c0": 10, "c1": 1, "c2": 5, "c3": 7}
        b = st.perturb(view, a, rng)
        assert sum(abs(a[c] - b[c]) for c in a) == 1 and all(1 <= v <= 10 for v in b.values())
    ranking = st.TaskView("p", view.responses, RankingCriterion())
    r = st.perturb(ranking, {"c0": 0, "c1": 1, "c2": 2, "c3": 3}, rng)
    assert sorted(r.values()) == [0, 1, 2, 3] and r != {"c0": 0, "c1": 1, "c2": 2, "c3": 3}
