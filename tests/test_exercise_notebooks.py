"""The notebooks' exercises: with the placeholders the saved checks say "not attempted yet";
with the reference solutions (from tests/test_exercises.py) filled in, every check passes."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import test_exercises as solutions

from nn.exercises import EXERCISES, Result

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
WITH_EXERCISES = sorted({e.notebook for e in EXERCISES.values()})


def exercise_cells(name: str) -> list:
    cells = nbformat.read(NOTEBOOKS / name, as_version=4).cells
    start = next(i for i, c in enumerate(cells) if c.source.startswith("## Exercises"))
    return [c for c in cells[start:] if c.cell_type == "code"]


def reference(exercise: str):
    if exercise == "backward":
        return solutions.reference_backward
    return solutions.REFERENCES[exercise]


@pytest.mark.parametrize("name", WITH_EXERCISES)
def test_saved_checks_say_not_attempted_yet(name):
    checks = [c for c in exercise_cells(name) if c.source.startswith("check(")]
    names = {c.metadata.get("exercise") for c in exercise_cells(name)} - {None}
    assert len(checks) == len(names) and names == {
        e.name for e in EXERCISES.values() if e.notebook == name}
    for cell in checks:
        texts = [o.data["text/plain"] for o in cell.outputs if "data" in o]
        assert texts and "not attempted yet" in texts[0], cell.source


@pytest.mark.parametrize("name", WITH_EXERCISES)
def test_with_reference_solutions_every_check_passes(name):
    namespace: dict = {}
    results = []
    for cell in exercise_cells(name):
        exercise = cell.metadata.get("exercise")
        value = None
        if exercise:
            # The learner's cell defines the function; here the reference stands in for it.
            function_name = EXERCISES[exercise].signature.split()[1].split("(")[0]
            namespace[function_name] = reference(exercise)
            continue
        *body, last = cell.source.rstrip().split("\n")
        if last.startswith("check("):
            exec("\n".join(body), namespace)
            value = eval(last, namespace)
        else:
            exec(cell.source, namespace)
        if isinstance(value, Result):
            results.append(value)
    assert results and all(r.passed for r in results), [str(r) for r in results]
