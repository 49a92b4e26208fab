"""A page read as a browser would lay it out for tests: the text and marks under each id.

No HTML library needed: the standard library's parser walks the tags; void elements
(meta, br, ...) close themselves.
"""

from __future__ import annotations

from html.parser import HTMLParser

VOID = {"meta", "br", "hr", "img", "input", "link", "line"}
BLOCKS = {"div", "p", "dl", "dt", "dd", "td", "th", "tr", "li", "ul", "h1", "h2", "h3", "pre"}
BLOCKS |= {"details", "summary", "section", "table", "thead", "tbody", "title"}


class Page(HTMLParser):
    """Per element id: its text (tags removed, markup decoded), and the classes inside it."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: dict[str, list[str]] = {}
        self.classes: dict[str, list[str]] = {}  # class attributes of the elements inside
        self.hrefs: list[str] = []
        self.tags: list[str] = []
        self._open: list[tuple[str, str | None]] = []
        self.feed(source)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append(tag)
        if tag in BLOCKS:
            self.handle_data(" ")  # blocks are laid out apart
        if tag == "a" and found.get("href"):
            self.hrefs.append(found["href"] or "")
        for _, element_id in self._open:
            if element_id is not None:
                self.classes[element_id].append(found.get("class") or "")
        if tag in VOID:
            return
        element_id = found.get("id")
        if element_id is not None:
            assert element_id not in self.texts, f"two elements have the id {element_id!r}"
            self.texts.setdefault(element_id, [])
            self.classes.setdefault(element_id, [])
        self._open.append((tag, element_id))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        assert self._open, f"</{tag}> closes nothing"
        assert self._open[-1][0] == tag, f"</{tag}> closes <{self._open[-1][0]}>"
        self._open.pop()
        if tag in BLOCKS:
            self.handle_data(" ")

    def handle_data(self, data: str) -> None:
        for _, element_id in self._open:
            if element_id is not None:
                self.texts[element_id].append(data)

    def text(self, element_id: str) -> str:
        """The text under *element_id*, runs of white space made one space."""
        return " ".join("".join(self.texts[element_id]).split())

    def marks(self, element_id: str, kind: str = "") -> int:
        """How many chart marks (of *kind*, if given) lie under *element_id*."""
        return sum(
            "mark" in names.split() and (not kind or kind in names.split())
            for names in self.classes[element_id]
        )
