"""Checks every generated document before it can be sent: HTML, JavaScript syntax, no network, size.

The JavaScript check compiles each inline script with V8 (``new Function(source)`` in an embedded
``MiniRacer``): a real parser, not a heuristic. One V8 isolate is kept per thread, so checking is
cheap (well under a millisecond for a typical script).
"""

from __future__ import annotations

import functools
import json
import re
import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser

from dojo.errors import DocumentError
from dojo.protocol import MAX_RESPONSE_CHARS

MIN_DOCUMENT_CHARS = 64
SCRIPT_TYPES_JS = {"", "text/javascript", "application/javascript", "module"}
URL_ATTRS = {"src", "href", "action", "formaction", "poster", "data", "srcset", "background", "xlink:href"}
# XML namespace names are identifiers, not loads (document.createElementNS needs them).
_NAMESPACES = re.compile(r"https?://www\.w3\.org/(?:2000/svg|1999/xhtml|1999/xlink|1998/Math/MathML)")
_REMOTE = re.compile(r"(?:https?|wss?|ftp)://|^\s*//[^/\s]", re.IGNORECASE)
_REMOTE_ANYWHERE = re.compile(r"""(?:https?|wss?|ftp)://|(?:url\(|import\s*\(?|@import)\s*["']?\s*//""", re.IGNORECASE)


@dataclass
class _Scan(HTMLParser):
    scripts: list[tuple[str, int]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    tags: int = 0
    _in_script: bool = False
    _script_line: int = 0
    _script_type: str = ""
    _buf: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        HTMLParser.__init__(self, convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags += 1
        for name, value in attrs:
            if value and name.lower() in URL_ATTRS and _REMOTE.search(_NAMESPACES.sub("", value)):
                self.problems.append(f"<{tag} {name}=…> loads a remote resource ({value[:80]!r})")
        if tag == "script":
            attr = dict(attrs)
            if attr.get("src"):
                self.problems.append("external <script src> is not allowed; scripts must be inline")
            self._in_script = True
            self._script_line = self.getpos()[0]
            self._script_type = (attr.get("type") or "").strip().lower()
            self._buf = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_script:
            self._in_script = False
            if self._script_type in SCRIPT_TYPES_JS:
                self.scripts.append(("".join(self._buf), self._script_line))

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self._buf.append(data)


_local = threading.local()
_CHECKER = """
function __dojoSyntax(src) {
  try { new Function(src); return ""; }
  catch (e) { return String(e && e.message || e); }
}
function __dojoSyntaxAll(srcs) { return JSON.stringify(srcs.map(__dojoSyntax)); }
"""


def _racer():  # noqa: ANN202 - MiniRacer has no public type stub
    racer = getattr(_local, "racer", None)
    if racer is None:
        from dojo.jsengine import new_racer

        racer = new_racer()  # its own loop thread: safe to close from anywhere, whenever
        racer.eval(_CHECKER)
        _local.racer = racer
    return racer


def js_syntax_error(source: str) -> str | None:
    """V8's syntax error for ``source`` compiled as a script body, or None when it parses."""
    message = _racer().call("__dojoSyntax", source)
    return str(message) or None


#: A configuration element (:mod:`dojo.synthetic.surface`): base64 in a ``text/plain`` script.
_CARRIER = re.compile(r'(<script type="text/plain" id="dojo-config">)[0-9A-Za-z+/=]*(</script>)')


def _static_check(html: str) -> list[tuple[str, int]]:
    """Everything but the JavaScript compile; returns the inline scripts (source, line) to compile.

    The answers of a task differ only in their configuration element (base64, never run): the
    rest is checked once per distinct document without it.
    """
    if not isinstance(html, str) or len(html) < MIN_DOCUMENT_CHARS:
        raise DocumentError(f"document is empty or shorter than {MIN_DOCUMENT_CHARS} characters")
    if len(html) > MAX_RESPONSE_CHARS:
        raise DocumentError(f"document has {len(html)} characters, more than the limit of {MAX_RESPONSE_CHARS}")
    return list(_markup_check(_CARRIER.sub(r"\1\2", html, count=1)))


@functools.lru_cache(maxsize=64)
def _markup_check(html: str) -> tuple[tuple[str, int], ...]:
    if "<html" not in html[:2000].lower():
        raise DocumentError("not a complete HTML document: no <html> element near the start")
    scan = _Scan()
    try:
        scan.feed(html)
        scan.close()
    except Exception as exc:  # noqa: BLE001 - html.parser raises assorted errors on garbage
        raise DocumentError(f"HTML does not parse: {exc}") from exc
    if scan._in_script:
        raise DocumentError("HTML does not parse: a <script> element is never closed")
    if scan.problems:
        raise DocumentError(scan.problems[0])
    if not scan.scripts:
        raise DocumentError("document has no inline script: an interactive program needs one")
    for source, line in scan.scripts:
        stripped = _NAMESPACES.sub("", source)
        m = _REMOTE_ANYWHERE.search(stripped)
        if m:
            raise DocumentError(
                f"script at line {line} references a remote address ({stripped[m.start() : m.start() + 60]!r})"
            )
    rest = _NAMESPACES.sub("", _strip_scripts(html))
    style_remote = _REMOTE_ANYWHERE.search(rest)
    if style_remote:
        raise DocumentError(
            f"document references a remote address ({rest[style_remote.start() : style_remote.start() + 60]!r})"
        )
    return tuple(scan.scripts)


def check_document(html: str) -> None:
    """Raise :class:`DocumentError` unless ``html`` is a complete, valid, self-contained document."""
    err = documents_errors([html])[0]
    if err is not None:
        raise DocumentError(err)


def documents_errors(docs: list[str]) -> list[str | None]:
    """Per document, why it is refused or None; all distinct scripts of all documents compile in one V8 call."""
    errors: list[str | None] = [None] * len(docs)
    sources: list[str] = []
    owners: list[tuple[int, int]] = []
    for i, html in enumerate(docs):
        try:
            scripts = _static_check(html)
        except DocumentError as exc:
            errors[i] = str(exc)
            continue
        for source, line in scripts:
            sources.append(source)
            owners.append((i, line))
    if sources:
        # A task's answers share one program: compile each distinct script once.
        unique = list(dict.fromkeys(sources))
        # A JSON string, not a JS array: no V8 handle outlives the call (a live one can hang interpreter exit).
        compiled = dict(zip(unique, json.loads(str(_racer().call("__dojoSyntaxAll", unique))), strict=True))
        results = [compiled[source] for source in sources]
        for (i, line), message in zip(owners, results, strict=True):
            if message and errors[i] is None:
                errors[i] = f"script at line {line} has a JavaScript syntax error: {message}"
    return errors


_SCRIPT_BLOCK = re.compile(r"<script\b.*?</script\s*>", re.IGNORECASE | re.DOTALL)


def _strip_scripts(html: str) -> str:
    return _SCRIPT_BLOCK.sub("", html)


def document_error(html: str) -> str | None:
    """The reason ``html`` is refused, or None when it is valid."""
    return documents_errors([html])[0]
