"""One verdict vocabulary: holds, no_difference, reversed, inconclusive, in the code, the
figures' labels, the notebooks, the README and docs/. Another word for one of them (the
README once said "undecided" where the code said "inconclusive") makes a reader wonder whether
they are two verdicts."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SYNONYMS = re.compile(r"\bundecided\b|\bundetermined\b|\bunclear verdict\b", re.IGNORECASE)


def places() -> list[Path]:
    found = [
        ROOT / "README.md",
        *(ROOT / "docs").glob("*.md"),
        *(ROOT / "notebooks").glob("*.ipynb"),
    ]
    found += [p for folder in ("bench", "servers") for p in (ROOT / folder).rglob("*.py")]
    return found


def test_verdicts_have_one_name_each():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()[:80]}"
        for path in places()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if SYNONYMS.search(line)
    ]
    assert not found, "another word for a verdict:\n" + "\n".join(found)
