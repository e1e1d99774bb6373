"""obfuscate_html without a browser: names gone, seeds differ, markup intact, code that can't parse kept."""

from __future__ import annotations

import threading
import uuid

import pytest

from dojo.obfuscation import KEEP_NAMES, obfuscate_html, unwrap_document
from dojo.obfuscation.engine import minify_parts
from dojo.obfuscation.markup import scan
from obfuscation.helpers import TOKEN, code_names, one_task_per_family, sample

SAMPLE_NAMES = ["counter.html", "particles.html", "quirks.html"]


def _documents() -> list[tuple[str, str]]:
    docs = [(name, sample(name)) for name in SAMPLE_NAMES]
    for task in one_task_per_family():
        docs += [(f"{task.metadata['family']}#{r.ladder_step}", r.content) for r in task.responses]
    return docs


DOCS = _documents()


@pytest.mark.parametrize("name,html", DOCS, ids=[d[0] for d in DOCS])
def test_no_original_identifier_survives(name: str, html: str) -> None:
    declared, _ = code_names(html)
    own = {n for n in declared if len(n) > 3} - set(KEEP_NAMES)
    assert own, f"{name}: the test document declares no long names, so the test would prove nothing"
    out = obfuscate_html(html, seed=11)
    # Not even as a token of the payload ...
    assert own.isdisjoint(TOKEN.findall(out)), own & set(TOKEN.findall(out))
    # ... nor as a name in the code the browser will run.
    decoded = unwrap_document(out)
    new_declared, new_referenced = code_names(decoded)
    assert own.isdisjoint(new_declared | new_referenced), own & (new_declared | new_referenced)


@pytest.mark.parametrize("name,html", DOCS[:5], ids=[d[0] for d in DOCS[:5]])
def test_deterministic_per_seed_and_different_across_seeds(name: str, html: str) -> None:
    a1, a2, b = obfuscate_html(html, 1), obfuscate_html(html, 1), obfuscate_html(html, 2)
    assert a1 == a2
    assert a1 != b
    da, db = unwrap_document(a1), unwrap_document(b)
    code_a = "".join(s.code for s in scan(da).scripts)
    code_b = "".join(s.code for s in scan(db).scripts)
    assert code_a != code_b, "two seeds must also name the code differently"
    # The payloads share no long run of text either.
    payload_a, payload_b = a1.split('["', 1)[1], b.split('["', 1)[1]
    assert not any(payload_a[i : i + 24] in payload_b for i in range(0, len(payload_a) - 24, 24))


@pytest.mark.parametrize("name,html", DOCS[:3], ids=[d[0] for d in DOCS[:3]])
def test_markup_outside_code_is_unchanged(name: str, html: str) -> None:
    decoded = unwrap_document(obfuscate_html(html, 5))
    before, after = scan(html), scan(decoded)
    assert len(before.scripts) == len(after.scripts)
    assert [(t.name, [k for k, _ in t.attrs]) for t in before.tags] == [
        (t.name, [k for k, _ in t.attrs]) for t in after.tags
    ]

    def strip(text: str, found: object) -> str:
        edits = [(s.start, s.end) for s in found.scripts] + [(t.start, t.end) for t in found.tags]  # type: ignore[attr-defined]
        out, pos = [], 0
        for start, end in sorted(edits):
            out.append(text[pos:start])
            pos = end
        return "".join(out) + text[pos:]

    doctype_free = html.split(">", 1)[1] if html.lower().startswith("<!doctype") else html
    # Identical but for whitespace before <html>/<head>, which the browser drops anyway.
    assert "".join(strip(decoded, after).split()) == "".join(strip(doctype_free, scan(doctype_free)).split())
    assert len(decoded) < len(html), "scripts are minified"


def test_wrapped_document_is_not_plain_text() -> None:
    html = sample("counter.html")
    out = obfuscate_html(html, 3)
    for visible in ("Counter", "readout", "stepSize", "<button", "<canvas", "getContext", "addEventListener"):
        assert visible not in out
    assert out.startswith("<!DOCTYPE html>")
    assert "eval(" not in out and "Function(" not in out  # works under script-src 'unsafe-inline' alone


def test_wrapped_payload_looks_random_to_a_compressor() -> None:
    """A keystream, not a repeating key: the payload compresses like random base64 whatever the markup."""
    import zlib

    repetitive = (
        "<!DOCTYPE html><html><body>" + "<p>same line again</p>\n" * 2000 + "<script>let a = 1;</script></body></html>"
    )
    for html in (repetitive, sample("counter.html")):
        out = obfuscate_html(html, 3)
        payload = out[out.index("<script>") :]
        assert len(zlib.compress(payload.encode(), 9)) > 0.7 * len(payload)


def test_quirks_document_stays_without_doctype() -> None:
    out = obfuscate_html(sample("quirks.html"), 3)
    assert not out.lower().startswith("<!doctype")
    assert "héllo ✓" in unwrap_document(out)


def test_unparsable_script_and_foreign_types_are_kept_verbatim() -> None:
    broken = "function ( { this is not javascript"
    data = '{"keepThisName": 1}'
    html = (
        f"<!DOCTYPE html><body><script>{broken}</script><script type='application/json'>{data}</script>"
        "<script>var sharedCounter = 1; function bumpCounter() { sharedCounter++; }</script>"
        "<button onclick='bumpCounter(' id=b>x</button></body>"
    )
    decoded = unwrap_document(obfuscate_html(html, 9))
    assert broken in decoded and data in decoded
    assert "sharedCounter" not in decoded and "bumpCounter(" in decoded  # the broken handler is left alone


def test_names_used_from_outside_are_kept() -> None:
    html = (
        "<script>function __dojoState() { return {}; } var exposedThing = 1; window.exposedThing = 2;"
        "function onload() { exposedThing = 3; } function hiddenHelper() {}</script>"
    )
    decoded = unwrap_document(obfuscate_html(html, 4))
    assert "function __dojoState" in decoded  # called by test harnesses from outside
    assert "exposedThing" in decoded  # reached as window.exposedThing
    assert "function onload" in decoded  # a global named like a window handler slot is one
    assert "hiddenHelper" not in decoded


def test_forward_references_and_handlers_share_names() -> None:
    out = minify_parts(
        [("function callLater() { return definedLater(); }", False), ("function definedLater() { return 42; }", False)],
        ["callLater(); definedLater()"],
        seed=3,
    )
    first, second = out.scripts
    assert first is not None and second is not None and out.handlers[0] is not None
    later_name = second.split("function ", 1)[1].split("(", 1)[0]
    call_name = first.split("function ", 1)[1].split("(", 1)[0]
    assert f"return {later_name}()" in first
    assert out.handlers[0] == f"{call_name}();{later_name}()"
    assert out.renamed == 2


def test_dynamic_name_lookup_keeps_top_level_names() -> None:
    out = minify_parts([("var lookedUp = 1; function readIt(k) { return window[k]; }", False)], [], seed=3)
    assert out.scripts[0] is not None and "lookedUp" in out.scripts[0] and out.renamed == 0


def test_compress_option_still_renames() -> None:
    html = sample("particles.html")
    decoded = unwrap_document(obfuscate_html(html, 2, compress=True))
    assert "spawnParticles" not in decoded and "particleList" not in decoded


def test_threads_get_their_own_context() -> None:
    html = sample("particles.html")
    expected = obfuscate_html(html, 8)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(obfuscate_html(html, 8))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [expected] * 3


def test_obfuscated_documents_do_not_carry_the_completion_ids() -> None:
    task = one_task_per_family()[0]
    old = {r.completion_id for r in task.responses}
    out = "".join(obfuscate_html(r.content, 1) for r in task.responses)
    assert not any(str(i) in out or uuid.UUID(str(i)).hex in out for i in old)


def test_globals_a_handler_would_find_on_its_element_keep_their_names() -> None:
    decoded = unwrap_document(obfuscate_html(sample("shadowing.html"), 6))
    assert "function reset()" in decoded and "function clear()" in decoded
    assert 'onclick="reset();' in decoded and 'onclick="clear();' in decoded
    assert "ownHandlerTarget" not in decoded and "noteHandlerRan" not in decoded


@pytest.mark.parametrize(
    "html",
    [
        "",
        "just some text, no markup",
        "\ufeff<!doctype html><p>bom</p>",
        "<p>no scripts at all</p>",
        "<script>var unterminatedScript = 1;",
        "<p>lone surrogate \ud800 kept</p><script>var someName = '\ud83d\ude00';</script>",
        '<svg onload="svgLoaded()"><script>function svgLoaded() {}</script></svg>',
    ],
)
def test_odd_documents_round_trip(html: str) -> None:
    out = obfuscate_html(html, 1)
    assert out.isascii()
    decoded = unwrap_document(out)
    found = scan(html)

    def norm(text: str) -> str:
        return "".join(text.split()).lstrip("\ufeff").replace("<!doctypehtml>", "")

    if not found.scripts and not found.tags:
        assert norm(decoded) == norm(html)
    for name in ("unterminatedScript", "someName", "svgLoaded"):
        assert name not in decoded


def test_large_document_is_handled_quickly() -> None:
    import time

    body = "".join(
        f"<div id='cell{i}'>cell {i}</div><script>function handlerNumber{i}(valueArg) {{ return valueArg * {i}; }}"
        f" window.addEventListener('load', () => handlerNumber{i}({i}));</script>"
        for i in range(1500)
    )
    html = f"<!DOCTYPE html><html><body>{body}</body></html>"
    assert len(html) > 200_000
    start = time.perf_counter()
    decoded = unwrap_document(obfuscate_html(html, 2))
    assert time.perf_counter() - start < 20
    assert "handlerNumber" not in decoded and "valueArg" not in decoded and "cell1499" in decoded


def test_names_called_from_code_in_strings_are_kept() -> None:
    html = (
        "<div id=box></div><script>"
        "function pickColour(i) {} function tickLater() {} function renamedAway() {}"
        "document.getElementById('box').innerHTML = '<button onclick=\"' + 'pickColour(' + 1 + ')\">x</button>';"
        "setTimeout('tickLater()', 10); renamedAway();</script>"
    )
    decoded = unwrap_document(obfuscate_html(html, 3))
    assert "function pickColour" in decoded and "function tickLater" in decoded
    assert "renamedAway" not in decoded


def test_toolchain_failure_is_a_clear_error_and_the_next_call_works(monkeypatch: pytest.MonkeyPatch) -> None:
    from dojo.obfuscation import ObfuscationError, engine

    monkeypatch.setattr(engine, "CALL_TIMEOUT_S", 0.05)
    slow = "<script>" + "".join(f"var longNameNumber{i} = {i};" for i in range(30000)) + "</script>"
    with pytest.raises(ObfuscationError, match="JavaScript toolchain failed"):
        obfuscate_html(slow, 1)
    monkeypatch.setattr(engine, "CALL_TIMEOUT_S", 20.0)
    assert "particleList" not in unwrap_document(obfuscate_html(sample("particles.html"), 1))


def test_out_of_memory_is_a_clear_error_and_the_thread_recovers(monkeypatch: pytest.MonkeyPatch) -> None:
    from dojo.obfuscation import ObfuscationError, engine

    monkeypatch.setattr(engine, "HEAP_LIMIT_BYTES", 40 * 1024 * 1024)
    big = (
        "<script>"
        + "".join(f"function longFunctionName{i}(a) {{ return a + {i}; }}" for i in range(60000))
        + "</script>"
    )
    outcome: list[object] = []

    def work() -> None:
        try:
            obfuscate_html(big, 1)
            outcome.append("no error")
        except ObfuscationError as exc:
            outcome.append(exc)
        monkeypatch.setattr(engine, "HEAP_LIMIT_BYTES", 512 * 1024 * 1024)
        outcome.append(unwrap_document(obfuscate_html(sample("particles.html"), 1)))

    t = threading.Thread(target=work)
    t.start()
    t.join(120)
    assert isinstance(outcome[0], ObfuscationError), outcome[0]
    assert isinstance(outcome[1], str) and "particleList" not in outcome[1]


@pytest.mark.parametrize("compress", [False, True])
def test_reusing_a_parsed_document_across_seeds_changes_nothing(compress: bool) -> None:
    """A document seen again is cloned, not re-parsed: the output must not depend on that."""
    docs = [sample("counter.html"), sample("quirks.html"), DOCS[-1][1]]

    def fresh_thread(html: str, seed: int) -> str:
        box: list[str] = []
        t = threading.Thread(target=lambda: box.append(obfuscate_html(html, seed, compress=compress)))
        t.start()
        t.join(60)
        return box[0]

    for html in docs:
        seeds = [31, 32, 33, 31, 32, 33, 34, 31]
        outs = [obfuscate_html(html, s, compress=compress) for s in seeds]
        assert outs[0] == outs[3] == outs[7] and outs[1] == outs[4] and outs[2] == outs[5]
        assert len({outs[0], outs[1], outs[2], outs[6]}) == 4
        assert outs[6] == fresh_thread(html, 34) and outs[0] == fresh_thread(html, 31)


async def test_usable_from_async_code() -> None:
    """The validator calls it through asyncio.to_thread; a direct call inside a running loop works too."""
    import asyncio

    html = sample("particles.html")
    expected = obfuscate_html(html, 12)
    results = await asyncio.gather(*(asyncio.to_thread(obfuscate_html, html, 12) for _ in range(4)))
    assert results == [expected] * 4
    assert obfuscate_html(html, 12) == expected
