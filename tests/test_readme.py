"""The README's Python examples run as written, and say what they print."""

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_examples_run(tmp_path, monkeypatch, capsys):
    blocks = python_blocks()
    assert len(blocks) >= 5
    monkeypatch.chdir(tmp_path)           # they write files: keep them out of the tree
    namespace: dict = {}
    round_trip_checked = False
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
        if "back" in namespace and not round_trip_checked:   # before later blocks train on
            assert [p.data for p in namespace["back"].parameters()] == \
                [p.data for p in namespace["model"].parameters()]
            round_trip_checked = True
    printed = capsys.readouterr().out
    assert "0.7071 -1.5000 1.0000" in printed                   # the tour's neuron
    assert "x.grad += w.data (-3.0) * v2.grad (0.5) = -1.5" in printed
    assert "x * y ('y', 'x')" in printed
    assert "0.3333 0.4444" in printed                              # softsign and its derivative
    assert "\n0.98\n" in printed                                  # the MLP's accuracy
    assert "layers.0.neurons.0.w0 <-> 0.weight[0, 0]\nlayers.0.neurons.0.w1 <-> 0.weight[0, 1]\n" \
        in printed                                               # the torch bridge's names
    assert round_trip_checked
    assert namespace["d2y"] == 12.0        # the README's second derivative of x**3 at 2
    assert namespace["dy"].data == 12.0
    assert (tmp_path / "model.json").exists()
    assert (tmp_path / "neuron.svg").exists()


def test_the_tour_names_every_operation_of_the_table():
    from autograd import OPS
    from autograd.ops import BUILT_IN

    text = README.read_text()
    listed = re.search(r"and have `([^`]*)`", text).group(1).replace("(slope)", "").split()
    named = [name for name in sorted(BUILT_IN) if OPS[name].expression_name and name != "abs"]
    assert sorted(listed) == named
