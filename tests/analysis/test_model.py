"""The typed model of a run: nothing on the read side depends on a group's name or an arm's label.

A copy of the reference run with every group and every arm renamed (in the scenario, the cells,
the latency files and the experiments) must give the same sentences, the same verdicts and the
same figures, with the new names.
"""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from bench import analysis
from bench.analysis import plots
from bench.analysis.notebook import open_run
from bench.results.upgrade import upgrade
from tests.support import synthetic


def renamed_copy(tmp_path):
    """The reference run, upgraded to the current format, every group and arm renamed."""
    reference = open_run()
    folder = tmp_path / "20990101T000000Z-renamed"
    shutil.copytree(
        reference.path, folder, ignore=shutil.ignore_patterns("plots", "*.log", "report.html")
    )
    meta = upgrade(json.loads((folder / "run.json").read_text()))
    scenario = meta["scenario"]
    labels = [s["label"] for s in scenario["servers"]]
    labels += [g["roles"]["a_a"][0] for g in scenario["paired"] if g["roles"].get("a_a")]
    arm = {old: f"arm{i:02d}x" for i, old in enumerate(labels)}
    group = {g["name"]: f"grp{i:02d}x" for i, g in enumerate(scenario["paired"])}
    for spec in scenario["servers"]:
        spec["label"] = arm[spec["label"]]
    for g in scenario["paired"]:
        g["name"] = group[g["name"]]
        g["arms"] = [arm[a] for a in g["arms"]]
        g["pairs"] = [[arm[a], arm[b]] for a, b in g["pairs"]]
        g["a_a"] = arm[g["a_a"]] if g.get("a_a") else None
        g["baseline"] = arm[g["baseline"]] if g.get("baseline") else None
        g["headline"] = [arm[x] for x in g["headline"]] if g.get("headline") else None
        roles = g["roles"]
        roles["headline"] = [arm[x] for x in roles["headline"]]
        roles["baseline"] = arm[roles["baseline"]]
        roles["a_a"] = [arm[x] for x in roles["a_a"]] if roles.get("a_a") else None
        for p in roles["pairs"]:
            p["a"], p["b"] = arm[p["a"]], arm[p["b"]]
    curve = scenario.get("curve")
    if curve:
        curve["servers"] = [arm[x] for x in curve["servers"]]
        curve["pairs"] = [[arm[a], arm[b]] for a, b in curve.get("pairs") or []]
        for key in ("capacity_of", "reference"):
            if curve.get(key):
                curve[key] = arm[curve[key]]
    meta["capacity"] = {
        arm[k]: {**v, "label": arm[v["label"]]} for k, v in (meta.get("capacity") or {}).items()
    }
    for key in ("revocation", "availability"):
        if scenario.get(key):
            scenario[key]["servers"] = [arm[x] for x in scenario[key]["servers"]]
        for result in meta.get(key) or []:
            result["label"] = arm[result["label"]]
    for cell in meta["cells"]:
        if "group" in cell:
            cell["group"] = group[cell["group"]]
        if "label" in cell:
            cell["label"] = arm[cell["label"]]
        if "arms" in cell:
            cell["arms"] = {arm[k]: {**v, "label": arm[k]} for k, v in cell["arms"].items()}
            path = folder / cell["latency_file"]
            latency = json.loads(path.read_text())
            latency["arms"] = {arm[k]: v for k, v in latency["arms"].items()}
            path.write_text(json.dumps(latency))
        if cell.get("arm_order"):
            cell["arm_order"] = [arm[a] for a in cell["arm_order"]]
    (folder / "run.json").write_text(json.dumps(meta))
    back = {new: old for old, new in {**arm, **group}.items()}
    return reference, analysis.load(folder), back


def restore(text: str, back: dict[str, str]) -> str:
    return re.sub(r"(arm|grp)\d\dx", lambda m: back[m.group(0)], text)


def sentences() -> list:
    return list(synthetic.run_sentences().values())


@pytest.fixture(scope="module")
def renamed(tmp_path_factory):
    return renamed_copy(tmp_path_factory.mktemp("renamed"))


def test_every_sentence_is_the_same_with_the_new_names(renamed):
    reference, copy, back = renamed
    checked = 0
    for sentence in [*sentences(), analysis.headline]:
        assert restore(sentence(copy), back) == sentence(reference), sentence.__name__
        checked += 1
    assert checked >= 25


def test_every_verdict_is_the_same_with_the_new_names(renamed):
    reference, copy, back = renamed
    old = [r.as_dict() for r in analysis.paired_verdicts(reference)]

    def named(value):
        if isinstance(value, str):
            return restore(value, back)
        return tuple(named(v) for v in value) if isinstance(value, tuple) else value

    new = [{k: named(v) for k, v in r.as_dict().items()} for r in analysis.paired_verdicts(copy)]
    assert new == old and len(old) > 20


def figure_data(fig) -> list:
    """What a figure draws, without its words: line points, bar rectangles, marker offsets."""
    found = []
    for axis in fig.axes:
        found += [np.round(line.get_xydata(), 6).tolist() for line in axis.get_lines()]
        found += [np.round(p.get_bbox().bounds, 6).tolist() for p in axis.patches]
        found += [np.round(c.get_offsets(), 6).tolist() for c in axis.collections]
    return found


def test_every_figure_is_the_same_with_the_new_names(renamed):
    reference, copy, _ = renamed
    drawn = 0
    for name, plot in plots.PLOTS.items():
        a, b = plot(reference), plot(copy)
        assert (a is None) == (b is None), name
        if a is not None:
            assert figure_data(b) == figure_data(a), name
            assert [c.get_facecolor() for ax in b.axes for c in ax.patches] == [
                c.get_facecolor() for ax in a.axes for c in ax.patches
            ], name
            drawn += 1
    assert drawn >= 10
