"""Document validation refuses what must never be sent, with a reason that names the problem."""

from __future__ import annotations

import threading

import pytest

from dojo.errors import DocumentError
from dojo.protocol import MAX_RESPONSE_CHARS
from dojo.synthetic.procedural import generate_task
from dojo.synthetic.validation import check_document, document_error, js_syntax_error

GOOD = """<!DOCTYPE html><html><head><title>t</title></head><body>
<canvas id="c"></canvas>
<svg xmlns="http://www.w3.org/2000/svg"></svg>
<script>const el = document.createElementNS("http://www.w3.org/2000/svg", "circle"); let n = 1; n += 1;</script>
</body></html>"""


def _doc(body: str, script: str = "let a = 1;") -> str:
    return f"<!DOCTYPE html><html><head><title>x</title></head><body>{body}<script>{script}</script></body></html>"


def test_a_good_document_passes() -> None:
    check_document(GOOD)
    assert document_error(generate_task(3).responses[0].content) is None


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        (_doc("", "let x = ;"), "syntax error"),
        (_doc("", "function f( {"), "syntax error"),
        (_doc("", "const a = 1; const a = 2;"), "syntax error"),
        (_doc('<script src="https://cdn.example.com/x.js"></script>'), "remote"),
        (_doc('<img src="http://example.com/a.png">'), "remote"),
        (_doc('<img src="//example.com/a.png">'), "remote"),
        (_doc('<link rel="stylesheet" href="https://fonts.example.com/a.css">'), "remote"),
        (_doc('<div style="background: url(https://example.com/bg.png)"></div>'), "remote"),
        (_doc("<style>@import url('//example.com/a.css');</style>"), "remote"),
        (_doc("", "fetch('https://example.com/track')"), "remote"),
        (_doc("", "new WebSocket('wss://example.com/s')"), "remote"),
        (_doc(""), None),
        ("", "empty"),
        ("<div>hello there, this is not a whole document at all, just a fragment of text</div>", "<html>"),
        (_doc("<p>no script here</p>", "").replace("<script></script>", ""), "no inline script"),
        ("<html><body><script>let a = 1;" + " " * 100, "never closed"),
        (_doc("x" * (MAX_RESPONSE_CHARS + 1)), "limit"),
    ],
)
def test_bad_documents_are_refused_with_a_reason(html: str, reason: str | None) -> None:
    err = document_error(html)
    if reason is None:
        assert err is None
    else:
        assert err is not None and reason in err, err
        with pytest.raises(DocumentError):
            check_document(html)


def test_syntax_check_is_a_real_parser() -> None:
    assert (
        js_syntax_error("class A { #p = 1; get p() { return this.#p; } }; const f = async () => { await 1; };") is None
    )
    assert js_syntax_error("let x = `unterminated") is not None
    assert js_syntax_error("if (a) { b(); ") is not None


def test_checking_works_from_several_threads() -> None:
    docs = [r.content for s in range(8) for r in generate_task(s).responses]
    errors: list[str | None] = []

    def work() -> None:
        errors.extend(document_error(d) for d in docs)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [None] * (3 * len(docs))
