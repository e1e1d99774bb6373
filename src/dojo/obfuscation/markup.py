"""Finding the code in an HTML document, and putting rewritten code back in its place.

The document is scanned once with the standard library's HTML tokenizer; everything that is not
code is kept byte for byte. Code means: inline classic and module ``<script>`` elements, inline
event handler attributes (``onclick="…"``) and ``javascript:`` URLs in ``href``/``src``/``action``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from html.parser import HTMLParser

#: ``type`` values of a ``<script>`` that holds classic JavaScript (lower-cased, parameters dropped).
JS_TYPES = frozenset(
    {
        "",
        "text/javascript",
        "application/javascript",
        "application/ecmascript",
        "text/ecmascript",
        "application/x-javascript",
        "application/x-ecmascript",
        "text/jscript",
        "text/livescript",
        "text/javascript1.0",
        "text/javascript1.1",
        "text/javascript1.2",
        "text/javascript1.3",
        "text/javascript1.4",
        "text/javascript1.5",
        "text/x-ecmascript",
        "text/x-javascript",
    }
)
URL_ATTRS = frozenset({"href", "src", "action", "formaction"})
JS_URL = "javascript:"


@dataclass
class Script:
    """An inline script: its code lies at ``html[start:end]``."""

    start: int
    end: int
    code: str
    module: bool


@dataclass
class Tag:
    """A start tag (``html[start:end]``) whose attributes hold code."""

    start: int
    end: int
    name: str
    attrs: list[tuple[str, str | None]]
    self_closing: bool
    #: indexes into ``attrs`` of handler attributes, and of ``javascript:`` URL attributes
    handlers: list[int] = field(default_factory=list)
    urls: list[int] = field(default_factory=list)


@dataclass
class Scan:
    """Where the code of a document is."""

    scripts: list[Script]
    tags: list[Tag]
    doctype: tuple[int, int] | None  # span of the leading <!DOCTYPE …>, if any


class _Scanner(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text = text
        self.line_starts = [0]
        pos = text.find("\n")
        while pos != -1:
            self.line_starts.append(pos + 1)
            pos = text.find("\n", pos + 1)
        self.scripts: list[Script] = []
        self.tags: list[Tag] = []
        self.doctype: tuple[int, int] | None = None
        self._open_script: tuple[int, bool] | None = None  # (content start, is module) of a JS <script>
        self._seen_element = False

    def _offset(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def handle_decl(self, decl: str) -> None:
        if self.doctype is None and not self._seen_element and decl.lower().startswith("doctype"):
            start = self._offset()
            end = self.text.index(">", start) + 1
            self.doctype = (start, end)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, self_closing=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, self_closing=True)

    def _start(self, tag: str, attrs: list[tuple[str, str | None]], self_closing: bool) -> None:
        self._seen_element = True
        start = self._offset()
        raw = self.get_starttag_text() or ""
        end = start + len(raw)
        if tag == "script" and not self_closing:
            values = dict(attrs)
            kind = (values.get("type") or "").split(";")[0].strip().lower()
            if "src" not in values and (kind in JS_TYPES or kind == "module"):
                self._open_script = (end, kind == "module")
        handlers = [i for i, (k, v) in enumerate(attrs) if k.startswith("on") and v is not None and v.strip()]
        urls = [
            i
            for i, (k, v) in enumerate(attrs)
            if k in URL_ATTRS and v is not None and v.strip().lower().startswith(JS_URL)
        ]
        if handlers or urls:
            self.tags.append(Tag(start, end, tag, list(attrs), raw.rstrip().endswith("/>"), handlers, urls))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._open_script is not None:
            content_start, module = self._open_script
            end = self._offset()
            self.scripts.append(Script(content_start, end, self.text[content_start:end], module))
            self._open_script = None


def scan(text: str) -> Scan:
    """Locate the scripts, handler attributes and doctype of ``text``."""
    scanner = _Scanner(text)
    scanner.feed(text)
    scanner.close()
    if scanner._open_script is not None:  # unterminated <script>: the browser runs it up to the end
        content_start, module = scanner._open_script
        scanner.scripts.append(Script(content_start, len(text), text[content_start:], module))
    return Scan(scanner.scripts, scanner.tags, scanner.doctype)


def render_tag(tag: Tag) -> str:
    """A start tag from its (possibly rewritten) attributes."""
    parts = [tag.name]
    for key, value in tag.attrs:
        parts.append(key if value is None else f'{key}="{html.escape(value, quote=True)}"')
    return "<" + " ".join(parts) + ("/>" if tag.self_closing else ">")


def splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """``text`` with each ``(start, end, replacement)`` applied; spans must not overlap."""
    out: list[str] = []
    pos = 0
    for start, end, repl in sorted(edits, key=lambda e: e[0]):
        out.append(text[pos:start])
        out.append(repl)
        pos = end
    out.append(text[pos:])
    return "".join(out)
