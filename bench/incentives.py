"""The tournament: does reward follow labelling quality, and nothing else? (DESIGN §7, issue 10)

Each strategy is a miner. Per seed, over ``--rounds`` rounds of ``--tasks`` tasks per miner
(default 4 × 3, like the default ``dojo localnet``), the validator's own pieces are run in
process:

* **Planning as the validator plans** (:mod:`dojo.validator.planner`): external tasks first,
  within the per-miner cap (``external_cap.room`` / ``place``, 20% over the window, each task to
  ``replicas`` miners), then every miner its OWN synthetic instance of each slot's task
  (``slots.instance_seed`` + ``SourceTask.instance``: same family, own parameters and truth).
* **Copies as the validator builds them** (``copies.build_copy``: shuffled, fresh completion ids,
  and obfuscated for every miner whose strategy reads documents — the length bot, the reseller
  and its source, the colluders; people's scores depend only on the oracle's ranks, so their
  copies skip the obfuscator to keep the run short).
* **Labels** from :mod:`dojo.localnet.strategies` over what each miner was sent, collected with
  ``collect.map_results`` (fingerprints and all) into the records the store gives the scorer.
* **Scoring** with ``scorer.score_stored_round`` round after round, carrying the running state,
  then ``weights.compute_weights`` on a metagraph of the field.

Fields per seed: the main field — careful, noisy, random, lazy, adversarial (crews of three),
the length bot, one careful crew resold to three hotkeys (the crew's own miner plus two
``copier`` hotkeys; the figure is the three together relative to one honest careful miner —
the crew's own miner, so that the noise between two careful crews does not blur what resale
adds; the table also shows them relative to the field's careful crew),
and two mixed crews — and the collusion field: three honest miners (careful, careful, noisy)
with four colluders, run again without the colluders to see what the honest miners lose.

Figures (PASS/FAIL): random, lazy, adversarial and (each) colluder ≤ 0.05 of careful in ≥ 19 of
20 seeds, the length bot likewise (reported either way); the resold crew's hotkeys together
≤ 1.1× its own miner (mean); careful ≥ 1.25× noisy (mean) and noisy ≥ 0.4× careful (mean);
honest miners lose ≤ 10% of their weight when the colluders join (their total, mean over seeds;
each honest miner's own change is printed too, noisier since each field places external tasks
on its own).

``--grid`` labels every seed once, then re-scores the same labels under a sweep of the
scoring constants (the weight transform's k, power and variance floor, and alpha) and prints
the settings that pass every figure, with the most margin first.

    python bench/incentives.py [--seeds 20] [--rounds 4] [--tasks 3] [--grid]

``--crews SPEC`` plays one field spelled as for ``dojo localnet --crews`` (``--external N``: N
external tasks in all, like the local network's ``--external-tasks``) and prints each miner's
weight over the seeds, to compare with a real run.

Checked against a real local network (2026-11-30, this working tree's scoring — alpha 0.1,
lcb_k 2, lcb_power 2, var_floor 0.1 — with per-miner instances and surface-neutral documents)::

    dojo localnet --seed 1 --external-tasks 3
        --crews 'careful,careful,careful;noisy,noisy,noisy;lengthbot;copier:0;colluder;colluder'

    weights in its leaderboard.json   careful 0.607  noisy 0.393  lengthbot 0  copier 0  colluders 0, 0
    this bench, the same --crews and --external 3, mean (min–max) of 20 seeds:
        careful 0.620 (0.54–0.84)  noisy 0.379 (0.17–0.46)  lengthbot 0.000  copier 0.000 (0–0.004)
        colluders 0.000, 0.000

Same order, and the real run's weights inside the bench's seed-to-seed range. (An earlier run,
before the documents became surface-neutral, agreed as well: careful 0.437, noisy 0.286,
lengthbot 0.203, copier 0.074 in the real run; 0.459, 0.285, 0.147, 0.108 here.)
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from dojo import protocol
from dojo.chain.base import Metagraph, Neuron
from dojo.localnet import strategies as st
from dojo.localnet.crews import Crew, Strategy
from dojo.localnet.skills import Skill
from dojo.synthetic.procedural import generate_task
from dojo.validator import external_cap
from dojo.validator.collect import map_results
from dojo.validator.copies import Obfuscator, build_copy, copy_rng, keyed_rng
from dojo.validator.engine import EngineConfig
from dojo.validator.scorer import ScoringParams, score_stored_round
from dojo.validator.slots import instance_seed
from dojo.validator.sources import from_synthetic, source_task, task_seed
from dojo.validator.store.records import (
    AssignmentView,
    MinerTarget,
    NewTask,
    RoundForScoring,
    ScoredAssignment,
    TaskForScoring,
)
from dojo.validator.weights import compute_weights

S = Skill
ZERO_SIGNAL_MAX = 0.05  # of careful
SEEDS_NEEDED = 0.95  # share of seeds (19 of 20)
RESALE_MAX = 1.1
CAREFUL_OVER_NOISY = 1.25
NOISY_MIN = 0.4
HONEST_LOSS_MAX = 0.10
RESALE_ROW = "copier: 3 hotkeys / the resold crew's own"
SCORE = {"type": "score", "min": 1, "max": 10}


@dataclass(frozen=True)
class Entrant:
    """One miner of a field: its name, what labels for it, and the figure it counts towards."""

    name: str
    crew: Crew
    group: str

    @property
    def hotkey(self) -> str:
        return "5" + hashlib.sha256(self.name.encode()).hexdigest()[:47]


def _human(name: str, skills: Sequence[Skill], group: str | None = None) -> Entrant:
    return Entrant(name, Crew.of(skills), group or name)


MAIN_FIELD: list[Entrant] = [
    _human("careful", [S.careful] * 3),
    _human("noisy", [S.noisy] * 3),
    _human("random", [S.random] * 3),
    _human("lazy", [S.lazy] * 3),
    _human("adversarial", [S.adversarial] * 3),
    Entrant("lengthbot", Crew(Strategy.lengthbot), "lengthbot"),
    _human("resold", [S.careful] * 3, "copier"),
    Entrant("copier-1", Crew(Strategy.copier, source=6), "copier"),
    Entrant("copier-2", Crew(Strategy.copier, source=6), "copier"),
    _human("careful+random+random", [S.careful, S.random, S.random]),
    _human("careful+careful+random", [S.careful, S.careful, S.random]),
]
HONEST: list[Entrant] = [
    _human("careful", [S.careful] * 3),
    _human("careful-2", [S.careful] * 3, "honest"),
    _human("noisy", [S.noisy] * 3),
]
COLLUSION_FIELD: list[Entrant] = HONEST + [
    Entrant(f"colluder-{i}", Crew(Strategy.colluder), "colluder") for i in range(4)
]


# -- one field, one seed: the labels ------------------------------------------------------------


@dataclass
class Season:
    """A field's rounds for one seed, labelled: what the store would hand the scorer, minus running scores."""

    entrants: list[Entrant]
    rounds: list[tuple[list[TaskForScoring], list[ScoredAssignment]]] = field(default_factory=list)


@dataclass(frozen=True)
class Copy:
    """One miner's copy of one task, what the miner sees of it, and the truth in its ids (for people only)."""

    task: NewTask
    miner: MinerTarget
    view: st.TaskView
    completion_map: dict[str, str]
    miner_task_id: str
    payload: dict[str, Any]
    ranks: dict[str, int]


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _external_task(seed: int, round_id: int, k: int) -> tuple[NewTask, dict[str, int]]:
    """A data consumer's task (no truth for the validator) and, aside, the order it was made with."""
    gen = generate_task(10_000_000 + seed * 1000 + round_id * 10 + k)
    base = from_synthetic(gen)
    truth = dict(base.ground_truth or {})
    task = dataclasses.replace(
        base,
        ground_truth=None,
        source="external",
        external_id=str(uuid.UUID(int=_rng("ext", base.id).getrandbits(128))),
    )
    return task, truth


def _plan(
    entrants: list[Entrant],
    seed: int,
    round_id: int,
    tasks: int,
    loads: dict[str, external_cap.Load],
    rules: EngineConfig,
    queued: int | None,
) -> tuple[list[tuple[NewTask, MinerTarget]], dict[str, dict[str, int]]]:
    """Every (task, miner) pair of a round, as the validator's planner chooses them, and the truth of each task.

    ``queued`` external tasks wait in the queue (None: always as many as the cap lets miners take)."""
    miners = [MinerTarget(i + 1, e.hotkey, f"http://m{i}") for i, e in enumerate(entrants)]
    rooms = {m.hotkey: external_cap.room(loads[m.hotkey], tasks, rules.external_max_share) for m in miners}
    most = external_cap.capacity(rooms, rules.external_replicas)
    if queued is not None:
        most = min(most, queued)
    placed = external_cap.place(most, rooms, rules.external_replicas, keyed_rng(seed, "dojo-external", round_id))
    by_hotkey = {m.hotkey: m for m in miners}
    pairs: list[tuple[NewTask, MinerTarget]] = []
    truth: dict[str, dict[str, int]] = {}
    n_ext: dict[str, int] = {}
    for k, hotkeys in enumerate(placed):
        task, order = _external_task(seed, round_id, k)
        truth[task.id] = order
        for hk in hotkeys:
            pairs.append((task, by_hotkey[hk]))
            n_ext[hk] = n_ext.get(hk, 0) + 1
    for slot in range(tasks):
        origin = source_task(generate_task(task_seed(seed, round_id, slot)))
        for m in miners:
            if slot < tasks - n_ext.get(m.hotkey, 0):
                inst = origin.instance(instance_seed(seed, round_id, slot, m.hotkey))
                truth[inst.id] = dict(inst.ground_truth or {})
                pairs.append((inst, m))
    for m in miners:
        loads[m.hotkey] = external_cap.Load(
            loads[m.hotkey].tasks + tasks, loads[m.hotkey].external + n_ext.get(m.hotkey, 0)
        )
    return pairs, truth


def _copies(
    pairs: list[tuple[NewTask, MinerTarget]],
    truth: dict[str, dict[str, int]],
    seed: int,
    readers: set[str],
    obfuscate: Obfuscator | None,
) -> list[Copy]:
    out = []
    for task, miner in pairs:
        plan = build_copy(
            task, miner.hotkey, copy_rng(seed, task.id, miner.hotkey), obfuscate if miner.hotkey in readers else None
        )
        p = plan.payload
        view = st.TaskView.of(p["prompt"], p["responses"], p["criteria"])
        ranks = {cid: truth[task.id][orig] for cid, orig in plan.completion_map.items()}
        out.append(Copy(task, miner, view, plan.completion_map, plan.miner_task_id, p, ranks))
    return out


def _answers(e: Entrant, c: Copy, index: int, pool: list[st.SoldTask], seed: int) -> list[st.Answer]:
    """What ``e``'s labellers submit for its copy ``c``."""
    crew = e.crew
    if crew.strategy is Strategy.human:
        return [
            st.human(skill, c.view, c.ranks, _rng(seed, e.name, c.task.id, j)) for j, skill in enumerate(crew.skills)
        ]
    if crew.strategy is Strategy.lengthbot:
        return [st.lengthbot(c.view)]
    if crew.strategy is Strategy.colluder:
        return [st.colluder(c.view, index)]
    return st.copier(c.view, pool, _rng(seed, e.name, c.task.id))


def label_season(
    entrants: list[Entrant],
    seed: int,
    rounds: int,
    tasks: int,
    obfuscate: Obfuscator | None,
    external: int | None = None,
) -> Season:
    """Plan, copy and label every round of one field for one seed (``external``: external tasks in all)."""
    rules = EngineConfig(tasks_per_round=tasks, seed=seed)
    season = Season(entrants)
    loads = {e.hotkey: external_cap.Load() for e in entrants}
    readers = {e.hotkey for e in entrants if e.crew.strategy is not Strategy.human}
    readers |= {entrants[e.crew.source].hotkey for e in entrants if e.crew.source is not None}
    by_hotkey = {e.hotkey: (i, e) for i, e in enumerate(entrants)}
    assignment_id = itertools.count(1)
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    for r in range(rounds):
        round_id = r + 1
        pairs, truth = _plan(entrants, seed, round_id, tasks, loads, rules, external)
        if external is not None:
            external -= len({t.id for t, _ in pairs if t.source == "external"})
        copies = _copies(pairs, truth, seed, readers, obfuscate)
        expire = now + timedelta(hours=round_id)
        sold: dict[int, list[st.SoldTask]] = {}
        results: dict[int, list[st.Answer]] = {}
        # people and bots first, then the resellers, who need their source's answers of this round
        order = sorted(
            range(len(copies)), key=lambda k: by_hotkey[copies[k].miner.hotkey][1].crew.strategy is Strategy.copier
        )
        for k in order:
            c = copies[k]
            i, e = by_hotkey[c.miner.hotkey]
            pool = sold.get(e.crew.source, []) if e.crew.source is not None else []
            answers = _answers(e, c, i, pool, seed)
            results[k] = answers
            sold.setdefault(i, []).append(st.SoldTask(c.view, tuple(answers)))
        assignments = []
        for k, c in enumerate(copies):
            aid = next(assignment_id)
            view = AssignmentView(
                aid,
                c.task.id,
                c.miner,
                c.miner_task_id,
                c.completion_map,
                c.payload,
                expire,
                "dispatched",
                c.task.criteria,
            )
            reply = protocol.ResultsReply(
                results=[
                    protocol.LabellerResult(
                        labeller_id=f"{c.miner.hotkey[:12]}-{j}",
                        scores={uuid.UUID(x): float(v) for x, v in a.items()},
                        submitted_at=expire - timedelta(minutes=5),
                    )
                    for j, a in enumerate(results[k][: protocol.MAX_LABELLERS_PER_TASK])
                ]
            )
            outcome = map_results(view, reply, protocol.MAX_LABELLERS_PER_TASK)
            assignments.append(
                ScoredAssignment(
                    aid, c.task.id, c.miner.uid, c.miner.hotkey, "collected", outcome.fingerprint, outcome.rows
                )
            )
        tasks_out = {
            c.task.id: TaskForScoring(
                id=c.task.id,
                state="collected",
                source=c.task.source,
                criteria=c.task.criteria,
                completion_ids=[str(x["completion_id"]) for x in c.task.responses],
                ground_truth=c.task.ground_truth,
                external_id=c.task.external_id,
            )
            for c in copies
        }
        season.rounds.append((list(tasks_out.values()), assignments))
    return season


# -- scoring a season ------------------------------------------------------------------------------


def play(season: Season, params: ScoringParams) -> dict[str, float]:
    """Score a labelled season round after round as the validator does; the weights by entrant name."""
    running: Any = {}
    for round_id, (tasks, assignments) in enumerate(season.rounds, 1):
        result = score_stored_round(RoundForScoring(round_id, tasks, assignments, running), params)
        running = result.running
    neurons = tuple(Neuron(i + 1, e.hotkey, "cold", 0.0, False) for i, e in enumerate(season.entrants))
    weights = compute_weights(running, Metagraph(netuid=1, block=0, neurons=neurons), 1.0, params)
    return {e.name: float(weights.get(i + 1, 0.0)) for i, e in enumerate(season.entrants)}


# -- figures -------------------------------------------------------------------------------------


@dataclass
class SeedOutcome:
    """Weights of one seed's fields."""

    main: dict[str, float]
    collusion: dict[str, float]
    control: dict[str, float]


def _ratio(x: float, careful: float) -> float:
    return x / careful if careful > 0 else (0.0 if x <= 0 else float("inf"))


def rows(outcomes: list[SeedOutcome]) -> dict[str, list[float]]:
    """Per strategy, its weight relative to the careful crew of its field, one value per seed."""
    out: dict[str, list[float]] = {}
    for o in outcomes:
        c = o.main["careful"]
        for e in MAIN_FIELD:
            if e.group == e.name:
                out.setdefault(e.name, []).append(_ratio(o.main[e.name], c))
        resold = sum(o.main[e.name] for e in MAIN_FIELD if e.group == "copier")
        out.setdefault("copier: resold crew, 3 hotkeys", []).append(_ratio(resold, c))
        out.setdefault("copier: the 2 copier hotkeys", []).append(_ratio(o.main["copier-1"] + o.main["copier-2"], c))
        # the resold crew's own miner is one honest careful miner: what resale adds on top of it
        out.setdefault(RESALE_ROW, []).append(_ratio(resold, o.main["resold"]))
        cc = o.collusion["careful"]
        out.setdefault("colluder (best of 4)", []).append(
            max(_ratio(o.collusion[n], cc) for n in o.collusion if n.startswith("colluder"))
        )
        honest = [e.name for e in HONEST]
        with_c, without = sum(o.collusion[n] for n in honest), sum(o.control[n] for n in honest)
        out.setdefault("honest loss with colluders (3 miners' total)", []).append(
            1.0 - with_c / without if without > 0 else 0.0
        )
        for n in honest:  # per miner: noisier, since each field places external tasks on its own
            change = o.collusion[n] / o.control[n] - 1.0 if o.control[n] > 0 else 0.0
            out.setdefault(f"  {n}: weight change with colluders", []).append(change)
    return out


@dataclass(frozen=True)
class Figure:
    """One figure to reach: what it says, what was measured, whether it holds, and by how much.

    ``margin`` is the slack relative to the threshold (> 0 holds). ``surface`` marks figures that
    depend on what the documents give away (sizes) rather than on the scoring constants alone.
    """

    key: str
    text: str
    measured: str
    ok: bool
    margin: float
    surface: bool = False


def figures(table: dict[str, list[float]]) -> list[Figure]:
    """Every figure of the issue from the per-seed table."""
    out = []
    need = int(np.ceil(SEEDS_NEEDED * len(table["careful"])))
    for name in ("random", "lazy", "adversarial", "colluder (best of 4)", "lengthbot"):
        vals = np.array(table[name])
        ok = int((vals <= ZERO_SIGNAL_MAX).sum())
        q = float(np.sort(vals)[need - 1]) if len(vals) else 0.0  # the worst value among the best `need` seeds
        out.append(
            Figure(
                name.split()[0],
                f"{name} ≤ {ZERO_SIGNAL_MAX} of careful in ≥ {need} seeds",
                f"{ok}/{len(vals)} seeds",
                ok >= need,
                (ZERO_SIGNAL_MAX - q) / ZERO_SIGNAL_MAX,
                surface=name == "lengthbot",
            )
        )
    resales = np.array(table[RESALE_ROW])
    resale = float(resales.mean())
    out.append(
        Figure(
            "resale",
            f"resold crew's 3 hotkeys ≤ {RESALE_MAX}× the crew's own (careful) miner (mean)",
            f"{resale:.3f} (worst seed {resales.max():.3f})",
            resale <= RESALE_MAX,
            (RESALE_MAX - resale) / RESALE_MAX,
            surface=True,  # the copier pairs documents by size: it earns what sizes give away
        )
    )
    noisy = float(np.mean(table["noisy"]))
    over = 1.0 / noisy if noisy > 0 else float("inf")
    out.append(
        Figure(
            "careful/noisy",
            f"careful ≥ {CAREFUL_OVER_NOISY}× noisy (mean)",
            f"{over:.2f}×",
            over >= CAREFUL_OVER_NOISY,
            (over - CAREFUL_OVER_NOISY) / CAREFUL_OVER_NOISY,
        )
    )
    out.append(
        Figure(
            "noisy",
            f"noisy ≥ {NOISY_MIN}× careful (mean)",
            f"{noisy:.3f}",
            noisy >= NOISY_MIN,
            (noisy - NOISY_MIN) / NOISY_MIN,
        )
    )
    losses = np.array(table["honest loss with colluders (3 miners' total)"])
    loss = float(losses.mean())
    out.append(
        Figure(
            "honest",
            f"honest miners lose ≤ {HONEST_LOSS_MAX:.0%} of their weight when colluders join (mean)",
            f"{loss:.3f} (worst seed {losses.max():.3f})",
            loss <= HONEST_LOSS_MAX,
            (HONEST_LOSS_MAX - loss) / HONEST_LOSS_MAX,
        )
    )
    return out


# -- driver --------------------------------------------------------------------------------------


def label_all(
    seeds: Iterable[int], rounds: int, tasks: int, obfuscate: Obfuscator | None, log: Callable[[str], None]
) -> list[tuple[Season, Season, Season]]:
    out = []
    for seed in seeds:
        t0 = time.monotonic()
        main = label_season(MAIN_FIELD, seed, rounds, tasks, obfuscate)
        collusion = label_season(COLLUSION_FIELD, seed, rounds, tasks, obfuscate)
        control = label_season(HONEST, seed, rounds, tasks, obfuscate)
        out.append((main, collusion, control))
        log(f"  seed {seed}: labelled in {time.monotonic() - t0:.1f}s")
    return out


def play_all(seasons: list[tuple[Season, Season, Season]], params: ScoringParams) -> list[SeedOutcome]:
    return [SeedOutcome(play(m, params), play(c, params), play(h, params)) for m, c, h in seasons]


def print_table(table: dict[str, list[float]], figs: list[Figure]) -> None:
    print(f"\n{'strategy (weight relative to a careful crew)':<46} {'mean':>7} {'min':>7} {'max':>7}")
    for name, vals in table.items():
        v = np.array(vals)
        print(f"{name:<46} {v.mean():7.3f} {v.min():7.3f} {v.max():7.3f}")
    print()
    for f in figs:
        note = "  (depends on what the documents' sizes give away)" if f.surface and not f.ok else ""
        print(f"{'PASS' if f.ok else 'FAIL'}  {f.text}: {f.measured}{note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--tasks", type=int, default=3, help="tasks per miner per round")
    parser.add_argument("--no-obfuscation", action="store_true", help="copies without the obfuscator (faster)")
    parser.add_argument("--grid", action="store_true", help="sweep the scoring constants")
    parser.add_argument(
        "--crews", help="play one field spelled as for `dojo localnet --crews` instead (to compare with a real run)"
    )
    parser.add_argument(
        "--external",
        type=int,
        default=None,
        help="with --crews: external tasks in all, like localnet's --external-tasks",
    )
    args = parser.parse_args()
    obfuscate: Obfuscator | None = None
    if not args.no_obfuscation:
        from dojo.validator.copies import default_obfuscator

        obfuscate = default_obfuscator()
    if args.crews:
        play_crews(args.crews, range(args.first_seed, args.first_seed + args.seeds), args, obfuscate)
        return
    t0 = time.monotonic()
    print(f"labelling {args.seeds} seeds × {args.rounds} rounds × {args.tasks} tasks per miner…", flush=True)
    seasons = label_all(
        range(args.first_seed, args.first_seed + args.seeds),
        args.rounds,
        args.tasks,
        obfuscate,
        lambda s: print(s, flush=True),
    )
    t1 = time.monotonic()
    params = ScoringParams()
    outcomes = play_all(seasons, params)
    table = rows(outcomes)
    print(f"scoring code: {describe_scoring(params)}")
    print_table(table, figures(table))
    print(f"\nlabelling {t1 - t0:.0f}s, scoring {time.monotonic() - t1:.1f}s")
    if args.grid:
        grid(seasons)
    sys.exit(0)


def play_crews(spec: str, seeds: Iterable[int], args: argparse.Namespace, obfuscate: Obfuscator | None) -> None:
    """One field as ``dojo localnet --crews`` spells it: each miner's weight over the seeds."""
    from dojo.localnet.crews import check_crews, parse_crews

    crews = parse_crews(spec)
    check_crews(crews)
    field_ = [Entrant(f"miner{i}", crew, f"miner{i}") for i, crew in enumerate(crews)]
    weights: dict[str, list[float]] = {e.name: [] for e in field_}
    for seed in seeds:
        season = label_season(field_, seed, args.rounds, args.tasks, obfuscate, args.external)
        for name, w in play(season, ScoringParams()).items():
            weights[name].append(w)
    print(f"scoring code: {describe_scoring(ScoringParams())}")
    print(f"\n{'miner':<8} {'crew':<26} {'weight: mean':>12} {'min':>7} {'max':>7}")
    for e in field_:
        ws = np.array(weights[e.name])
        print(f"{e.name:<8} {e.crew.label:<26} {ws.mean():12.3f} {ws.min():7.3f} {ws.max():7.3f}")


def describe_scoring(params: ScoringParams) -> str:
    """The scoring constants, and the commit the scoring code comes from (``+local changes`` if edited)."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    paths = ["src/dojo/scoring", "src/dojo/validator/scorer.py", "src/dojo/validator/weights.py"]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True).stdout
        dirty = subprocess.run(
            ["git", "status", "--porcelain", *paths], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        where = f"commit {head.strip()}" + (" + local changes" if dirty else "")
    except OSError:
        where = "no git"
    constants = ", ".join(f"{f.name}={getattr(params, f.name)}" for f in dataclasses.fields(params))
    return f"{where}; {constants}"


def grid(seasons: list[tuple[Season, Season, Season]]) -> None:
    """Re-score the same labels under each combination of the scoring constants that exist."""
    names = {f.name for f in dataclasses.fields(ScoringParams)}
    candidates: dict[str, list[float]] = {
        "alpha": [0.1, 0.2, 0.3],
        "lcb_k": [0.5, 1.0, 1.5, 2.0],
        "lcb_power": [1.0, 1.5, 2.0, 3.0],
        "var_floor": [0.05, 0.1, 0.2],
    }
    axes = {k: v for k, v in candidates.items() if k in names}
    if not axes:
        print("\n--grid: ScoringParams has none of", ", ".join(candidates), "- nothing to sweep")
        return
    default = {k: getattr(ScoringParams(), k) for k in axes}
    results = []
    for combo in itertools.product(*axes.values()):
        setting = dict(zip(axes, combo, strict=True))
        figs = figures(rows(play_all(seasons, dataclasses.replace(ScoringParams(), **setting))))
        results.append((setting, figs))

    def report(title: str, keep: Callable[[Figure], bool]) -> None:
        ranked = []
        for setting, figs in results:
            chosen = [f for f in figs if keep(f)]
            margins = [max(f.margin, -1.0) for f in chosen]  # far off is far off: −1 at most
            ranked.append((sum(not f.ok for f in chosen), min(margins), sum(margins) / len(margins), setting, chosen))
        ranked.sort(key=lambda r: (r[0], -r[1], -r[2]))
        print(f"\n{title}: {sum(r[0] == 0 for r in ranked)} of {len(ranked)} settings pass them all; best first")
        for fails, margin, _, setting, chosen in ranked[:12]:
            values = {f.key: f.measured for f in chosen}
            mark = "  (current)" if setting == default else ""
            print(
                f"  {'PASS' if not fails else f'{fails} fail'}  margin {margin:+.2f}  "
                + " ".join(f"{k}={v}" for k, v in setting.items())
                + f"  | noisy {values.get('noisy', '—')}, random {values.get('random', '—')}"
                + (f", lengthbot {values['lengthbot']}, resale {values['resale']}" if "resale" in values else "")
                + mark
            )

    print(f"\n--grid over {', '.join(f'{k} {v}' for k, v in axes.items())} (current: {default})")
    report("every figure", lambda f: True)
    report("the figures the scoring constants decide (without length bot and resale)", lambda f: not f.surface)


if __name__ == "__main__":
    main()
