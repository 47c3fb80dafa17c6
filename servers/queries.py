"""The servers' SQL, read from its one home: servers/contract.sql.

The Node.js twins read the same file with the same rules (servers/node/lib/queries.js), and a
test checks that both parses agree, so a statement is written once for every runtime. The
format is described at the top of the file. Importing this module reads nothing: the file is
parsed on the first `sql(name)` and kept.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

PATH = Path(__file__).with_name("contract.sql")
SECTION = re.compile(r"-- (name|fragment): ([a-z][a-z0-9_]*)[ \t]*")
SPLICE = re.compile(r"\{([a-z][a-z0-9_]*)\}")


class QueryFileError(ValueError):
    """contract.sql breaks its own format: the message names the line or the section."""


def parse(text: str, source: str = PATH.name) -> dict[str, str]:
    """{statement name: text}, fragments spliced in, in the order of the file."""
    sections: dict[str, tuple[str, list[str]]] = {}
    current: list[str] | None = None
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        if header := SECTION.fullmatch(line):
            kind, name = header.groups()
            if name in sections:
                raise QueryFileError(f"{source}:{number}: {name!r} is named twice")
            current = []
            sections[name] = (kind, current)
        elif current is not None and not line.lstrip(" \t").startswith("--"):
            current.append(line)
    texts = {name: "\n".join(lines).strip(" \t\n") for name, (_, lines) in sections.items()}
    if empty := [name for name, body in texts.items() if not body]:
        raise QueryFileError(f"{source}: {', '.join(empty)} has no text")
    fragments = {name: texts[name] for name, (kind, _) in sections.items() if kind == "fragment"}
    if nested := [name for name, body in fragments.items() if SPLICE.search(body)]:
        raise QueryFileError(f"{source}: fragment {', '.join(nested)} splices another")

    def splice(found: re.Match, name: str) -> str:
        if found[1] not in fragments:
            raise QueryFileError(f"{source}: {name} splices {found[0]}, which is no fragment")
        return fragments[found[1]]

    return {
        name: SPLICE.sub(lambda found, name=name: splice(found, name), texts[name])
        for name, (kind, _) in sections.items()
        if kind == "name"
    }


@functools.cache
def statements() -> Mapping[str, str]:
    """Every statement of contract.sql, parsed once per process (read-only)."""
    return MappingProxyType(parse(PATH.read_text(encoding="utf-8")))


def sql(name: str) -> str:
    """The text of statement `name` of contract.sql."""
    try:
        return statements()[name]
    except KeyError:
        raise KeyError(f"{PATH.name} has no statement {name!r}") from None
