"""The notebooks as committed: executed top to bottom, with their outputs, and self-contained.

Running them is `pytest --nbmake notebooks/` (part of `make test`); these checks read the
saved files, so they catch a notebook committed without outputs, with an error or a
warning in its outputs, run out of order, or pointing at files on the author's machine.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
# The story the notebooks tell, in order; every one of them must be there.
REQUIRED = ["01_chain_rule.ipynb", "02_one_neuron.ipynb", "03_neuron_to_mlp.ipynb",
            "04_training.ipynb"]
ALL = sorted(path.name for path in NOTEBOOKS.glob("*.ipynb"))

# Paths that exist only on the machine that executed a notebook.
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:work|tmp|home|root|Users)/")
# Notebooks use the public API: no module or name starting with "_" is imported.
PRIVATE_IMPORT = re.compile(r"""
    ^\s*from\s+(?!__future__)\S*\b_\w*\s+import   # from a private module
  | ^\s*from\s+\S+\s+import\s+.*\b_\w+          # a private name from a module
  | ^\s*import\s+\S*\b_\w+                      # import a private module
""", re.MULTILINE | re.VERBOSE)
IMAGE_TYPES = ("image/png", "image/svg+xml")


def read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def text_of(output: nbformat.NotebookNode) -> str:
    if output.output_type == "stream":
        return output.text
    if output.output_type == "error":
        return "\n".join(output.traceback)
    return "\n".join(str(value) for key, value in output.get("data", {}).items()
                     if key.startswith("text/"))


@pytest.mark.parametrize("name", REQUIRED)
def test_required_notebook_exists(name: str) -> None:
    assert (NOTEBOOKS / name).is_file(), f"notebooks/{name} is missing"


@pytest.mark.parametrize("name", ALL)
def test_is_a_valid_notebook_for_the_python3_kernel(name: str) -> None:
    nb = read(name)
    nbformat.validate(nb)
    kernelspec = nb.metadata.get("kernelspec", {})
    assert kernelspec.get("name") == "python3", f"{name}: kernelspec {kernelspec!r}"
    assert kernelspec.get("language", "python") == "python"


@pytest.mark.parametrize("name", ALL)
def test_tells_a_story_with_title_and_recap(name: str) -> None:
    cells = read(name).cells
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# "), \
        f"{name}: the first cell must be a Markdown title ('# ...')"
    markdown = [c for c in cells if c.cell_type == "markdown"]
    code = [c for c in cells if c.cell_type == "code"]
    assert len(markdown) >= len(code) / 2, f"{name}: too little prose between the code"
    assert "recap" in markdown[-1].source.lower(), f"{name}: the last Markdown cell is no recap"


@pytest.mark.parametrize("name", ALL)
def test_was_executed_top_to_bottom_in_one_fresh_kernel(name: str) -> None:
    code = [c for c in read(name).cells if c.cell_type == "code" and c.source.strip()]
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), \
        f"{name}: execution counts {counts}; run it top to bottom and save the outputs"


@pytest.mark.parametrize("name", ALL)
def test_outputs_have_no_errors_warnings_or_machine_paths(name: str) -> None:
    for i, cell in enumerate(read(name).cells):
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            where = f"{name}, cell {i}"
            assert output.output_type != "error", f"{where}: {output.ename}: {output.evalue}"
            text = text_of(output)
            assert "Traceback" not in text, f"{where}: a traceback in the output"
            assert not re.search(r"\w*Warning\b", text), f"{where}: a warning: {text[:300]}"
            assert not MACHINE_PATH.search(text), f"{where}: a path of this machine: {text[:300]}"


@pytest.mark.parametrize("name", ALL)
def test_sources_use_no_private_names_or_machine_paths(name: str) -> None:
    for i, cell in enumerate(read(name).cells):
        assert not MACHINE_PATH.search(cell.source), f"{name}, cell {i}: a path of this machine"
        if cell.cell_type == "code":
            match = PRIVATE_IMPORT.search(cell.source)
            assert match is None, f"{name}, cell {i}: imports a private name: {match.group()}"


@pytest.mark.parametrize("name", ALL)
def test_has_pictures_saved_with_it(name: str) -> None:
    images = [output.data for cell in read(name).cells if cell.cell_type == "code"
              for output in cell.outputs if any(t in output.get("data", {}) for t in IMAGE_TYPES)]
    assert images, f"{name}: no figure or graph in the saved outputs"
    for data in images:
        if "image/png" in data:
            assert base64.b64decode(data["image/png"]).startswith(b"\x89PNG\r\n\x1a\n")
        else:
            assert "<svg" in data["image/svg+xml"]


def test_the_checks_catch_what_they_are_for() -> None:
    # The patterns above, on lines they must and must not flag.
    assert MACHINE_PATH.search('File "/tmp/ipykernel_1/2.py", line 3')
    assert MACHINE_PATH.search("open('/work/main/data.csv')")
    assert not MACHINE_PATH.search("x = a / b / c  # ratio/tmp")
    assert PRIVATE_IMPORT.search("from autograd.engine import _finish_backward")
    assert PRIVATE_IMPORT.search("import nn._private")
    assert not PRIVATE_IMPORT.search("from autograd import Value, draw_dot")
    assert not PRIVATE_IMPORT.search("from nn.plots import plot_decision_boundary")
    assert not PRIVATE_IMPORT.search("from __future__ import annotations")
