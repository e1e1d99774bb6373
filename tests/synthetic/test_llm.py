"""The LLM generator against a fake OpenAI-compatible server.

One program per task (a template reading everything from ``C``), every answer that program with its
rung's configuration, the prompt written by us from the values; per-miner instances without a model
call; retries, repair, drops and accounting.
"""

from __future__ import annotations

import copy
import random
import re
from typing import Any

import pytest

from dojo.config import SyntheticSettings
from dojo.errors import InstanceError, LLMError
from dojo.synthetic import llm_program
from dojo.synthetic.instances import instantiate
from dojo.synthetic.llm import LLMGenerator, parse_json
from dojo.synthetic.models import SyntheticTask
from dojo.synthetic.surface import MARKER, unseal
from dojo.synthetic.validation import documents_errors
from synthetic.chromium import Tab
from synthetic.fake_llm import FakeServer


def _gen(server: FakeServer, n: int = 4, seed: int = 1, **kw: object) -> LLMGenerator:
    s = SyntheticSettings(
        llm_base_url=server.base_url,
        llm_api_key="test-key",
        llm_model="fake-model",
        llm_timeout_s=kw.pop("timeout", 5.0),
        llm_backoff_s=0.01,
        llm_max_attempts=kw.pop("attempts", 3),
        llm_input_usd_per_mtok=1.0,
        llm_output_usd_per_mtok=2.0,
    )
    return LLMGenerator(s, rng=random.Random(seed), n_responses=n)


def _phases(server: FakeServer) -> list[str]:
    return [c["phase"] for c in server.fake.calls]


def _split(doc: str) -> tuple[str, str]:
    """(the program with its configuration element cut out, the element)."""
    start = doc.index('<script type="text/plain" id="dojo-config">')
    end = doc.index("</script>", start) + len("</script>")
    return doc[:start] + MARKER + doc[end:], doc[start:end]


_COLOUR = re.compile(r"#[0-9a-f]{6}\b", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w])")


def _check(task: SyntheticTask, n: int) -> None:
    """One template; each answer's configuration is its ladder entry; the prompt names the config's values."""
    meta = task.metadata
    assert len(task.responses) == n and sorted(task.ground_truth.values()) == list(range(n))
    assert all(err is None for err in documents_errors([r.content for r in task.responses]))
    programs = {_split(r.content)[0] for r in task.responses}
    assert programs == {meta["template"]["html"]}, "every answer is the one template"
    assert len({_split(r.content)[1] for r in task.responses}) == n
    params, asked = meta["params"], set(meta["requested"])
    features = meta["template"]["features"]
    # the request is drawn among all features: as many of each kind as the spec requested
    for is_action in (False, True):
        kind = {f["key"] for f in features if f["is_action"] == is_action}
        assert len(asked & kind) == sum(1 for f in features if f["is_action"] == is_action and f["requested"])
    by_id = {str(r.completion_id): r for r in task.responses}
    for entry in meta["ladder"]:
        r = by_id[entry["completion_id"]]
        assert task.ground_truth[r.completion_id] == entry["step"] == r.ladder_step
        c = unseal(r.content)
        on = (asked - set(entry["removed"])) | set(entry["added"])
        assert c["on"] == {f["key"]: f["key"] in on for f in features}
        assert {k for k, v in c["broken"].items() if v} == set(entry["broken"])
        given = {d["param"]: d["given"] for d in entry["drifted"]}
        assert all(d["requested"] == params[d["param"]] != d["given"] for d in entry["drifted"])
        assert c["p"] == {"title": meta["template"]["title"], **params, **given}
    # the prompt: written from the values, every value it names is the faithful configuration's
    faithful = unseal(next(r.content for r in task.responses if r.ladder_step == 0))["p"]
    colours = {str(v).lower() for v in faithful.values() if isinstance(v, str) and v.startswith("#")}
    numbers = {float(v) for v in faithful.values() if isinstance(v, (int, float))}
    assert {c.lower() for c in _COLOUR.findall(task.prompt)} <= colours
    assert {float(x) for x in _NUMBER.findall(_COLOUR.sub("", task.prompt))} <= numbers
    named = set(llm_program.PLACEHOLDER.findall(meta["template"]["summary"]))
    for f in features:
        if f["key"] in asked:
            named |= set(llm_program.PLACEHOLDER.findall(f["text"]))
    for p in meta["template"]["params"]:
        if p["type"] in ("int", "number", "colour") and p["name"] in named:
            assert llm_program.show(params[p["name"]], p["type"]) in task.prompt
    assert "{" not in task.prompt and "Features:" in task.prompt and "User actions:" in task.prompt


def test_a_whole_task_through_the_endpoint(fake_llm: FakeServer) -> None:
    task = _gen(fake_llm).generate()
    _check(task, 4)
    assert _phases(fake_llm) == ["question", "program"]  # no model call per rung
    meta = task.metadata
    assert meta["generator"] == "llm" and meta["model"] == "fake-model" and meta["family"]
    assert meta["tokens"] == {"prompt": 2000, "completion": 1000}
    assert meta["cost_usd"] == pytest.approx(2000 * 1.0 / 1e6 + 1000 * 2.0 / 1e6)
    assert [e["step"] for e in meta["ladder"]] == [0, 1, 2, 3]
    rung3 = meta["ladder"][3]
    assert len(rung3["swapped"]) == 1 and len(rung3["drifted"]) == 1 and len(rung3["broken"]) == 1
    # the prompt: ours, with the spec's values in place of its placeholders
    assert "A 480×320 canvas where 12 squares coloured #38bdf8" in task.prompt
    assert "[gravity]" not in task.prompt
    texts = {f["key"]: f["text"].split("{")[0] for f in meta["template"]["features"]}
    for key, text in texts.items():  # the prompt names the requested features, and only those
        assert (text in task.prompt) == (key in meta["requested"]), key
    # the schema as kept for instances
    schema = {p["name"]: p for p in meta["template"]["params"]}
    assert schema["width"]["drift"] == "size" and schema["width"]["feature"] is None
    assert schema["gravity"]["feature"] == "gravity" and schema["pause_key"]["feature"] == "pause"
    assert schema["fade"]["drift"] is None and schema["background"]["type"] == "colour"
    assert schema["width"]["range"] == pytest.approx([288, 768]) and schema["width"]["grain"] == 10
    assert len(meta["template"]["html"].encode()) <= llm_program.MAX_TEMPLATE_BYTES
    # our own prompts, JSON mode, the configured model; the program request shows C and the rules
    body = fake_llm.fake.calls[0]["body"]
    assert body["model"] == "fake-model" and body["response_format"] == {"type": "json_object"}
    asked = fake_llm.fake.calls[1]["body"]["messages"][-1]["content"]
    assert "const C = __DOJO_DECODE__;" in asked and MARKER in asked and "live(key)" in asked
    assert "[shuffle] (user action)" in asked and "C.p" in asked and '"broken"' not in asked


def test_five_answers_swap_twice(fake_llm: FakeServer) -> None:
    task = _gen(fake_llm, n=5, seed=4).generate()
    _check(task, 5)
    assert len(task.metadata["ladder"][4]["swapped"]) == 2


def test_instances_are_new_tasks_from_the_same_program_without_a_model_call(fake_llm: FakeServer) -> None:
    task = _gen(fake_llm).generate()
    calls = len(fake_llm.fake.calls)
    instances = [instantiate(task, seed) for seed in range(8)]
    assert len(fake_llm.fake.calls) == calls, "an instance made a model call"
    for inst in instances:
        _check(inst, 4)
        meta = inst.metadata
        assert meta["template"] == task.metadata["template"] and meta["family"] == task.metadata["family"]
        assert meta["generator"] == "llm" and meta["tokens"] == {"prompt": 0, "completion": 0}
        for p in meta["template"]["params"]:  # values re-drawn within their kind and range
            value = meta["params"][p["name"]]
            if p["type"] == "int":
                assert isinstance(value, int) and p["range"][0] - 1 <= value <= p["range"][1] + 1
                assert value % p["grain"] == 0
            elif p["type"] == "number":
                assert p["range"][0] - 1e-9 <= value <= p["range"][1] + 1e-9
            elif p["type"] == "colour":
                assert re.fullmatch(r"#[0-9a-f]{6}", value)
            elif p["type"] == "key":
                assert re.fullmatch(r"[a-z]", value)
    everything = [task, *instances]
    assert len({t.task_id for t in everything}) == 9
    assert len({t.prompt for t in everything}) == 9
    assert len({repr(sorted(t.metadata["params"].items())) for t in everything}) == 9
    cids = [r.completion_id for t in everything for r in t.responses]
    assert len(set(cids)) == len(cids)
    docs = [r.content for t in everything for r in t.responses]
    assert len(set(docs)) == len(docs), "an instance repeats a document"
    # the hidden order is each instance's own: ladder picks and the order answers are listed in differ
    plans = {repr([(e["swapped"], e["drifted"], e["broken"]) for e in t.metadata["ladder"]]) for t in everything}
    assert len(plans) > 3
    assert len({tuple(r.ladder_step for r in t.responses) for t in everything}) > 2
    # deterministic per (task, seed)
    assert instantiate(task, 3).model_dump_json() == instances[3].model_dump_json()
    # the spec's extras are requested as often as its other features: none is special
    extras = {f["key"] for f in task.metadata["template"]["features"] if not f["requested"]}
    assert any(extras & set(t.metadata["requested"]) for t in everything)
    assert len({tuple(t.metadata["requested"]) for t in everything}) > 3


def test_what_cannot_be_instantiated_raises_instance_error(fake_llm: FakeServer) -> None:
    task = _gen(fake_llm).generate()
    broken: list[dict[str, Any]] = []
    meta = copy.deepcopy(task.metadata)
    del meta["template"]
    broken.append(meta)
    for change in (
        lambda t: t.update(html=t["html"].replace(MARKER, "")),
        lambda t: t.update(params=[{"name": "x"}]),
        lambda t: t.update(features="nope"),
        lambda t: t.update(features=[f | {"requested": False} for f in t["features"]]),  # no ladder
        lambda t: t.update(html="x" * (llm_program.MAX_TEMPLATE_BYTES + 1)),
    ):
        meta = copy.deepcopy(task.metadata)
        change(meta["template"])
        broken.append(meta)
    broken.append({**task.metadata, "template": "not a dict"})
    for meta in broken:
        with pytest.raises(InstanceError):
            instantiate(task.model_copy(update={"metadata": meta}), 1)


def test_transient_failures_are_retried(fake_llm: FakeServer) -> None:
    fake_llm.fake.script.extend(["500", "429", "malformed"])
    task = _gen(fake_llm, attempts=4).generate()
    assert len(task.responses) == 4
    assert task.metadata["retries"] == 3
    assert _phases(fake_llm) == ["question"] * 4 + ["program"]


def test_a_spec_with_a_value_outside_its_placeholders_is_asked_again(fake_llm: FakeServer) -> None:
    fake_llm.fake.script.append("spec_literal")
    task = _gen(fake_llm).generate()
    assert task.metadata["retries"] == 1 and _phases(fake_llm) == ["question", "question", "program"]


def test_a_timeout_is_retried(fake_llm: FakeServer) -> None:
    fake_llm.fake.script.append("timeout")
    task = _gen(fake_llm, timeout=0.5).generate()
    assert task.metadata["retries"] == 1 and len(task.responses) == 4


def test_a_code_fence_around_the_json_is_accepted(fake_llm: FakeServer) -> None:
    fake_llm.fake.script.append("fenced")
    assert _gen(fake_llm).generate().metadata["retries"] == 0


@pytest.mark.parametrize(
    ("behaviour", "says"),
    [
        ("broken_js", "syntax error"),
        ("literal", "writes the value 480 of parameter width as a literal: where it means width, read C.p.width"),
        ("no_marker", "__DOJO_CONFIG__ exactly once"),
        ("remote", "loads a remote resource"),
        ("flags", "reads C.on: C holds no readable flags"),
    ],
)
def test_a_bad_program_is_repaired_with_the_error(fake_llm: FakeServer, behaviour: str, says: str) -> None:
    fake_llm.fake.script.extend(["ok", behaviour])  # question ok, the program is bad
    task = _gen(fake_llm).generate()
    assert _phases(fake_llm) == ["question", "program", "repair"]
    repair = fake_llm.fake.calls[2]["body"]["messages"][-1]["content"]
    assert says in repair and "const C = __DOJO_DECODE__;" in repair
    assert task.metadata["repairs"] == 1
    _check(task, 4)
    assert all("cdn.example.com" not in r.content and "= 480;" not in r.content for r in task.responses)


def test_a_program_that_stays_broken_drops_the_task(fake_llm: FakeServer) -> None:
    fake_llm.fake.script.extend(["ok", "broken_js", "remote"])
    with pytest.raises(LLMError, match="program failed validation even after a repair"):
        _gen(fake_llm).generate()


def test_a_spec_that_cannot_carry_the_ladder_is_dropped_before_the_program(fake_llm: FakeServer) -> None:
    fake_llm.fake.script.append("spec_no_drift")
    with pytest.raises(LLMError, match="cannot carry the degradation ladder"):
        _gen(fake_llm).generate()
    assert _phases(fake_llm) == ["question"]


def test_persistent_server_errors_give_up_with_a_clear_error(fake_llm: FakeServer) -> None:
    fake_llm.fake.script.extend(["503"] * 3)
    with pytest.raises(LLMError, match="after 3 attempts"):
        _gen(fake_llm).generate()
    assert len(fake_llm.fake.calls) == 3


def test_a_refused_key_fails_at_once(fake_llm: FakeServer) -> None:
    fake_llm.fake.script.append("401")
    with pytest.raises(LLMError, match="HTTP 401"):
        _gen(fake_llm).generate()
    assert len(fake_llm.fake.calls) == 1


def test_no_key_is_a_clear_error() -> None:
    with pytest.raises(LLMError, match="DOJO_SYNTHETIC_LLM_API_KEY"):
        LLMGenerator(SyntheticSettings(llm_api_key=None))


def test_parse_json() -> None:
    assert parse_json('{"a": 1}') == {"a": 1}
    assert parse_json('```json\n{"a": 1}\n```') == {"a": 1}
    for bad in ("", "[1, 2]", "{nope"):
        with pytest.raises(ValueError):
            parse_json(bad)


@pytest.mark.browser
def test_each_rung_of_an_llm_task_behaves_as_its_configuration_says(fake_llm: FakeServer, tab: Tab) -> None:
    """In Chromium, the one program shows each rung's features, values and broken action (obfuscated too)."""
    from dojo.obfuscation import obfuscate_html
    from dojo.synthetic.procedural import Action

    task = _gen(fake_llm, n=5, seed=2).generate()
    inst = instantiate(task, 9)
    buttons = {"add": "#dojo-add", "reset": "#dojo-reset", "shuffle": "#dojo-shuffle"}
    page = tab
    for t, copy_seed in ((task, None), (inst, None), (inst, 77)):
        params = t.metadata["params"]
        docs = {str(r.completion_id): r.content for r in t.responses}
        for entry in t.metadata["ladder"]:
            where = f"rung {entry['step']} (copy {copy_seed})"
            doc = docs[entry["completion_id"]]
            c = unseal(doc)
            page.load(doc if copy_seed is None else obfuscate_html(doc, copy_seed), settle=True)
            assert page.eval('document.getElementById("dojo-canvas").width') == c["p"]["width"]
            assert page.state()["n"] == c["p"]["count"]
            assert page.eval("document.title") == t.metadata["template"]["title"]
            assert page.eval('document.getElementById("dojo-count") !== null') == c["on"]["counter"], where
            for key, sel in buttons.items():
                assert page.eval(f'document.querySelector("{sel}") !== null') == c["on"][key], where
                before = page.state()
                page.act(Action(key, sel, "click"))
                assert (page.state() != before) == (c["on"][key] and not c["broken"][key]), f"{where}: {key}"
            before = page.state()["paused"]
            page.act(Action("pause", "body", "press", params["pause_key"].upper()))
            pauses = c["on"]["pause"] and not c["broken"]["pause"] and c["p"]["pause_key"] == params["pause_key"]
            assert (page.state()["paused"] != before) == pauses, f"{where}: pause"
            if entry["step"] == 0:
                assert all(c["on"][k] for k in t.metadata["requested"]) and c["p"] == {
                    "title": t.metadata["template"]["title"],
                    **params,
                }
            assert page.errors == [], f"{where}: {page.errors}"
