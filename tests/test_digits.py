"""nn.data.load_digits: the UCI handwritten digits shipped with the package."""

import gzip
import os
import sys
from collections import Counter
from fnmatch import fnmatch
from pathlib import Path

import pytest
import tomllib

import nn
from nn.data import load_digits, train_test_split

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_shapes_range_and_labels(digits):
    X, y = digits
    assert len(X) == len(y) == 1797
    assert all(isinstance(x, list) and len(x) == 64 for x in X)
    pixels = [v for x in X for v in x]
    assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in pixels)
    assert min(pixels) == 0.0 and max(pixels) == 1.0
    # Counts 0..16 scaled by 1/16: every pixel is a whole number of sixteenths.
    assert {v * 16 for v in pixels} == set(range(17))
    assert all(type(label) is int for label in y)
    # The class sizes of the UCI test set, as scikit-learn's documentation lists them.
    assert [Counter(y)[d] for d in range(10)] == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_first_images_are_those_of_the_original_file(digits):
    X, y = digits
    # The first lines of sklearn/datasets/data/digits.csv.gz, written out by hand.
    assert [round(v * 16) for v in X[0][:16]] == [0, 0, 5, 13, 9, 1, 0, 0,
                                                  0, 0, 13, 15, 10, 15, 5, 0]
    assert [round(v * 16) for v in X[1][:8]] == [0, 0, 0, 12, 13, 5, 0, 0]
    assert y[:10] == list(range(10))


def test_deterministic_and_fresh_lists_each_call(digits):
    X, y = digits
    X2, y2 = load_digits()
    assert X2 == X and y2 == y
    X2[0][0] = 99.0
    assert load_digits()[0][0][0] == 0.0  # callers may change what they got


def test_train_test_split_applies(digits):
    X, y = digits
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=0)
    assert len(X_test) == 450 and len(X_train) == 1347  # ceil(0.25 * 1797)
    assert sorted(map(tuple, X_train + X_test)) == sorted(map(tuple, X))
    assert set(y_test) == set(range(10))


def test_a_damaged_file_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(nn.data, "DIGITS_FILE", "datasets/README.md")  # not gzip
    with pytest.raises(OSError, match="load_digits: cannot read nn/datasets/README.md"):
        load_digits()


def test_a_file_with_other_contents_is_refused(monkeypatch, tmp_path):
    fake = tmp_path / "nn" / "datasets"
    fake.mkdir(parents=True)
    (fake / "digits.gz").write_bytes(gzip.compress(bytes(1797 * 65)))

    class Files:
        def joinpath(self, name):
            return tmp_path / "nn" / name

    monkeypatch.setattr(nn.data.resources, "files", lambda package: Files())
    with pytest.raises(OSError, match="damaged"):
        load_digits()


def test_the_file_is_package_data(digits):
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["nn"]
    assert any(fnmatch(nn.data.DIGITS_FILE, pattern) for pattern in patterns)
    assert (ROOT / "nn" / nn.data.DIGITS_FILE).stat().st_size < 64_000


def test_no_scikit_learn_needed():
    assert "sklearn" not in sys.modules


# --- the pictures notebook 08 and the command draw ----------------------------------------

def test_plot_images_draws_one_frame_per_image_and_checks_sizes(digits):
    import matplotlib

    matplotlib.use("Agg")
    from nn.plots import plot_images

    X, y = digits
    figure = plot_images(X[:12], titles=[str(t) for t in y[:12]], ncols=5)
    drawn = [ax for ax in figure.axes if ax.images]
    assert len(figure.axes) == 15 and len(drawn) == 12
    assert [ax.get_title() for ax in drawn] == [str(t) for t in y[:12]]
    assert drawn[0].images[0].get_array().shape == (8, 8)
    with pytest.raises(ValueError, match="8x8 = 64 values"):
        plot_images([X[0], X[1][:60]])
    with pytest.raises(ValueError, match="2 titles for 3 images"):
        plot_images(X[:3], titles=["a", "b"])
    with pytest.raises(ValueError, match="no images"):
        plot_images([])


def test_plot_confusion_matrix_writes_the_counts():
    from nn.plots import new_figure, plot_confusion_matrix

    _, ax = new_figure()
    plot_confusion_matrix([[5, 1], [0, 4]], ax=ax)
    assert sorted(t.get_text() for t in ax.texts) == ["1", "4", "5"]  # no text for a 0
    assert ax.get_title() == "9 of 10 right (90.0%)"
    with pytest.raises(ValueError, match="square"):
        plot_confusion_matrix([[1, 2]], ax=ax)
    with pytest.raises(ValueError, match="ints >= 0"):
        plot_confusion_matrix([[1, -2], [0, 1]], ax=ax)


def test_no_scikit_learn_is_imported_even_where_one_is_installed(tmp_path):
    # A stand-in scikit-learn on the path: importing it would show in sys.modules,
    # so the check can fail here whether or not the real one is installed.
    import subprocess

    (tmp_path / "sklearn").mkdir()
    (tmp_path / "sklearn" / "__init__.py").write_text("")
    code = ("import sys, nn; X, y = nn.data.load_digits(); "
            "nn.data.train_test_split(X, y, seed=0); print(len(X), 'sklearn' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1797", "False"]
