"""Crews: the --crews syntax, the brains a miner's labellers get, the ranking check and leaderboard.json."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from dojo.errors import DojoError
from dojo.localnet import strategies as st
from dojo.localnet.crews import (
    ColluderBrain,
    CopierBrain,
    Crew,
    HumanBrain,
    LengthBrain,
    ResaleBoard,
    Strategy,
    check_crews,
    crew_size,
    make_brains,
    parse_crews,
    publisher,
)
from dojo.localnet.network import LocalnetConfig, LocalNetwork, MinerResult, ranked_as_expected, ranking_problems
from dojo.localnet.skills import Skill
from dojo.protocol import ScoreCriterion

S = Skill
SCORE = ScoreCriterion(min=1, max=10)


def test_crews_syntax_mixes_people_and_strategies() -> None:
    crews = parse_crews("careful,careful,careful; lengthbot;copier:0;colluder;Colluder")
    assert crews == [
        Crew.of([S.careful] * 3),
        Crew(Strategy.lengthbot),
        Crew(Strategy.copier, source=0),
        Crew(Strategy.colluder),
        Crew(Strategy.colluder),
    ]
    assert [c.label for c in crews] == ["3×careful", "lengthbot", "copier of miner0", "colluder", "colluder"]
    assert parse_crews(";".join(c.spec for c in crews)) == crews
    check_crews(crews)
    assert [crew_size(crews, i) for i in range(5)] == [3, 1, 3, 1, 1]
    assert [c.quality for c in crews] == [1.0, 0.0, None, 0.0, 0.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("careful,sloppy", "unknown labeller skill 'sloppy'"),
        ("careful;copier", "a copier names the miner it resells, e.g. 'copier:0'"),
        ("careful;copier:x", "a copier names the miner it resells"),
        ("careful;lengthbot,careful", "unknown labeller skill 'lengthbot'"),
        ("", "no crew given"),
    ],
)
def test_bad_crews_say_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_crews(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("careful;copier:5", "miner1 is 'copier:5' but the miners are 0..1"),
        ("careful;copier:1", "a copier cannot resell itself"),
        ("careful;copier:0;copier:1", "miner1 is itself a copier"),
    ],
)
def test_copiers_must_name_a_miner_with_a_crew(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_crews(parse_crews(text))
    with pytest.raises(DojoError, match=message):
        LocalNetwork(LocalnetConfig(miners=len(text.split(";")), crews=parse_crews(text)))


def test_brains_follow_the_crew() -> None:
    crews = parse_crews("careful,noisy;lengthbot;copier:0;colluder")
    board = ResaleBoard()
    oracle = lambda ids: None  # noqa: E731
    kinds = [[type(b) for b in make_brains(crews, i, oracle, board, seed=1)] for i in range(4)]
    assert kinds == [[HumanBrain, HumanBrain], [LengthBrain], [CopierBrain, CopierBrain], [ColluderBrain]]
    assert publisher(crews, 0, board) is not None  # miner0 is resold: its crew's answers go on the board
    assert publisher(crews, 1, board) is None


def _view(prompt: str, ids: list[str], sizes: list[int]) -> st.TaskView:
    return st.TaskView(prompt, tuple((c, "x" * n) for c, n in zip(ids, sizes, strict=True)), SCORE)


def test_copier_waits_for_the_source_crew_then_resells() -> None:
    board = ResaleBoard()
    now = datetime.now(timezone.utc)
    brain = CopierBrain(board, source=0, source_size=2, slot=1, rng=random.Random(0))
    mine = _view("draw a chart", ["m1", "m2", "m3"], [10, 30, 20])
    assert brain.answer(mine, now, now + timedelta(seconds=60)) is None  # nothing to sell yet
    theirs = _view("draw a chart", ["s1", "s2", "s3"], [20, 10, 30])
    board.publish(0, "t1", theirs, {"s1": 5, "s2": 1, "s3": 10})
    assert brain.answer(mine, now, now + timedelta(seconds=60)) is None  # one of two labellers so far
    board.publish(0, "t1", theirs, {"s1": 4, "s2": 2, "s3": 9})
    got = brain.answer(mine, now, now + timedelta(seconds=60))
    assert got is not None
    # slot 1 resells the second answer; documents pair by size: m2↔s3, m3↔s1, m1↔s2
    expected = {"m2": 9, "m3": 4, "m1": 2}
    assert sum(abs(got[c] - expected[c]) for c in expected) == 1
    # another prompt (its own instance): the closest task is sold only once patience runs out
    other = _view("draw a bar chart", ["o1", "o2", "o3"], [1, 2, 3])
    assert brain.answer(other, now, now + timedelta(seconds=60)) is None
    assert brain.answer(other, now - timedelta(seconds=40), now + timedelta(seconds=20)) is not None


def _row(i: int, crew: Crew, weight: float, killed: bool = False) -> MinerResult:
    return MinerResult(f"miner{i}", f"hk{i}", i + 1, crew, 0.5, 0.5, weight, weight, 9, killed, tasks=12)


def test_ranking_treats_bots_as_no_signal_and_copiers_apart() -> None:
    careful, noisy = Crew.of([S.careful] * 3), Crew.of([S.noisy] * 3)
    bot, copier = Crew(Strategy.lengthbot), Crew(Strategy.copier, source=0)
    adversarial = Crew.of([S.adversarial] * 3)
    assert ranked_as_expected([_row(0, careful, 0.7), _row(1, noisy, 0.3), _row(2, bot, 0.0), _row(3, copier, 0.0)])
    assert ranked_as_expected([_row(0, careful, 0.6), _row(1, noisy, 0.35), _row(2, copier, 0.05)])
    # a bot earning like a noisy crew, or a copier pushing its source's hotkeys over 1.1×, is wrong
    assert not ranked_as_expected([_row(0, careful, 0.6), _row(1, noisy, 0.2), _row(2, bot, 0.2)])
    assert not ranked_as_expected([_row(0, careful, 0.5), _row(1, noisy, 0.2), _row(2, copier, 0.3)])
    # crews with no signal may all earn nothing: no order among them is required
    assert ranked_as_expected([_row(0, careful, 1.0), _row(1, bot, 0.0), _row(2, adversarial, 0.0)])
    assert not ranked_as_expected([_row(0, careful, 0.8), _row(1, bot, 0.0), _row(2, adversarial, 0.2)])
    assert ranking_problems([_row(0, careful, 0.5), _row(1, noisy, 0.2), _row(2, copier, 0.3)]) == [
        "miner0's copiers earn 0.300 on top of its 0.500 (together more than 1.1× miner0)"
    ]


def test_leaderboard_json_has_one_object_per_miner(tmp_path: Path) -> None:
    net = LocalNetwork(LocalnetConfig(miners=2, crews=parse_crews("careful;copier:0"), home=tmp_path / "net"))
    rows = [_row(0, Crew.of([S.careful]), 0.9), _row(1, Crew(Strategy.copier, source=0), 0.1, killed=True)]
    path = net.write_leaderboard(rows)
    assert path == tmp_path / "net" / "leaderboard.json"
    data = json.loads(path.read_text())
    assert [d["uid"] for d in data] == [1, 2]
    for d in data:
        assert {"uid", "hotkey", "crew", "tasks", "score", "running", "weight", "balance"} <= set(d)
    assert data[1]["crew"] == "copier:0" and data[1]["strategy"] == "copier" and data[1]["killed"] is True
    assert data[0]["tasks"] == 12 and data[0]["weight"] == 0.9
