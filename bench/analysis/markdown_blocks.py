"""Generated blocks in a Markdown file: found, filled and checked.

    <!-- generated: NAME -->

    (what `make docs` wrote: a sentence or a small table)

    <!-- end generated -->

The markers stand on lines of their own; a blank line pads the content on each side, so a table
or a paragraph renders as it would without the markers. Nothing between the markers is edited
by hand: `make docs` rewrites it and `make docs-check` fails when it differs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

OPEN = re.compile(r"^<!-- generated: (?P<name>[A-Za-z0-9_.-]+) -->$")
CLOSE = "<!-- end generated -->"


class BlockError(ValueError):
    """A marker out of place, named with its file and line."""


@dataclass(frozen=True)
class Block:
    name: str
    first: int  # index of the opening marker's line
    last: int  # index of the closing marker's line

    @property
    def line(self) -> int:
        """The opening marker's line number, from 1, as an editor shows it."""
        return self.first + 1


def find(lines: list[str], where: str) -> list[Block]:
    """The blocks of a file's lines, in order; BlockError for a marker without its pair."""
    found, opened = [], None
    for i, line in enumerate(lines):
        text = line.rstrip()
        start = OPEN.match(text)
        if start and opened is not None:
            raise BlockError(
                f"{where}:{i + 1}: a block opens inside block {opened.group('name')!r}"
            )
        if start:
            opened, first = start, i
        elif text == CLOSE:
            if opened is None:
                raise BlockError(f"{where}:{i + 1}: {CLOSE} without a block to close")
            found.append(Block(opened.group("name"), first, i))
            opened = None
        elif text.startswith("<!-- generated"):
            raise BlockError(f"{where}:{i + 1}: not a block marker: {text!r}")
    if opened is not None:
        raise BlockError(f"{where}:{first + 1}: block {opened.group('name')!r} is never closed")
    return found


def content(markdown: str) -> list[str]:
    """The lines written between the markers for `markdown`."""
    return ["", *markdown.strip("\n").split("\n"), ""]


def stale(lines: list[str], block: Block, markdown: str, where: str) -> str | None:
    """None when the block holds what `markdown` writes; else one line naming the first
    difference."""
    held, wanted = lines[block.first + 1 : block.last], content(markdown)
    if held == wanted:
        return None
    for i in range(max(len(held), len(wanted))):
        a = held[i] if i < len(held) else "(nothing)"
        b = wanted[i] if i < len(wanted) else "(nothing)"
        if a != b:
            return (
                f"{where}:{block.first + 2 + i}: generated block {block.name!r} is stale: "
                f"it reads {a!r}, the reference run gives {b!r}"
            )
    return None  # unreachable: equal lengths and lines mean equal lists


def fill(text: str, render: Callable[[str], str], where: str) -> str:
    """`text` with every block's content rewritten by `render(name)`."""
    lines = text.split("\n")
    for block in reversed(find(lines, where)):
        lines[block.first + 1 : block.last] = content(render(block.name))
    return "\n".join(lines)
