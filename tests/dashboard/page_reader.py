"""Read the dashboard back: every element, its ``data-*`` attributes and its text."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser

VOID = {"meta", "br", "img", "input", "link", "hr", "col", "source", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    children: list[Element] = field(default_factory=list)

    def data(self, name: str) -> str | None:
        return self.attrs.get(f"data-{name}")

    def find(self, tag: str | None = None, **data: str) -> list[Element]:
        """Descendants (self included) with the tag and these ``data-*`` values."""
        found = []
        stack = [self]
        while stack:
            el = stack.pop()
            if (tag is None or el.tag == tag) and all(el.data(k) == v for k, v in data.items()):
                found.append(el)
            stack.extend(reversed(el.children))
        return found


class PageReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]
        self.tags: list[str] = []
        self.texts: list[str] = []
        self.elements: list[Element] = []  # document order, for fast page-wide lookups

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag, {k: v or "" for k, v in attrs})
        self.tags.append(tag)
        self.elements.append(el)
        self.stack[-1].children.append(el)
        if tag not in VOID:
            self.stack.append(el)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag, {k: v or "" for k, v in attrs})
        self.tags.append(tag)
        self.elements.append(el)
        self.stack[-1].children.append(el)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        for el in self.stack[1:]:
            el.text += data

    def find(self, tag: str | None = None, **data: str) -> list[Element]:
        return [
            el
            for el in self.elements
            if (tag is None or el.tag == tag) and all(el.data(k) == v for k, v in data.items())
        ]

    def one(self, tag: str | None = None, **data: str) -> Element:
        found = self.find(tag, **data)
        assert len(found) == 1, f"{len(found)} elements for {tag} {data}"
        return found[0]


def read_page(html: str) -> PageReader:
    reader = PageReader()
    reader.feed(html)
    reader.close()
    return reader


def same(text: str | None, value: object) -> bool:
    """Whether a ``data-value`` text is exactly the mart value (null as '')."""
    if text is None:
        return False
    if value is None:
        return text == ""
    if isinstance(value, bool):
        return text == ("true" if value else "false")
    if isinstance(value, int | float | Decimal):
        try:
            return Decimal(text) == Decimal(str(value))
        except InvalidOperation:
            return False
    if isinstance(value, dt.datetime):
        return text != "" and dt.datetime.fromisoformat(text) == value
    if isinstance(value, dt.date):
        return text == value.isoformat()
    return text == str(value)
