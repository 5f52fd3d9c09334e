"""The sdist and the wheel hold every module and data file, and the wheel works installed.

The wheel is built without network (no build isolation: setuptools and build come with
the dev extra), then installed, not editable, into an empty virtual environment whose
PATH has no Graphviz programs. Installing its dependencies there uses pip as the user
would (its cache, or the package index).
"""

import os
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What is a package is read from the source tree: every folder of a top-level package
# that the wheel must ship (a folder with an __init__.py, or below one).
PACKAGES = sorted(p.parent.name for p in ROOT.glob("*/__init__.py")
                  if p.parent.name not in ("tests", "bench", "notebooks"))


def package_files(root: Path) -> set[str]:
    """Every file under the packages in `root`, as paths relative to it, bytecode left out."""
    files = set()
    for package in PACKAGES:
        for path in (root / package).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.add(path.relative_to(root).as_posix())
    return files


def build(kind: str, source: Path, out: Path) -> Path:
    subprocess.run([sys.executable, "-m", "build", f"--{kind}", "--no-isolation",
                    "--outdir", str(out), str(source)], check=True, capture_output=True)
    (built,) = out.glob("*.whl" if kind == "wheel" else "*.tar.gz")
    return built


@pytest.fixture(scope="session")
def dist(tmp_path_factory):
    """The sdist built from the tree, and the wheel built from that sdist (as pip would)."""
    out = tmp_path_factory.mktemp("dist")
    sdist = build("sdist", ROOT, out / "sdist")
    with tarfile.open(sdist) as archive:
        archive.extractall(out / "src", filter="data")
    (unpacked,) = (out / "src").iterdir()
    wheel = build("wheel", unpacked, out / "wheel")
    return sdist, wheel


def test_packages_are_found_in_the_tree():
    assert "autograd" in PACKAGES and "nn" in PACKAGES


def test_the_wheel_holds_exactly_the_package_files(dist):
    _, wheel = dist
    names = {n for n in zipfile.ZipFile(wheel).namelist() if ".dist-info/" not in n}
    assert names == package_files(ROOT)
    for package in PACKAGES:
        assert f"{package}/py.typed" in names
    assert not any(n.startswith(("tests/", "bench/", "notebooks/")) for n in names)


def test_the_sdist_holds_every_package_file(dist):
    sdist, _ = dist
    with tarfile.open(sdist) as archive:
        names = {n.partition("/")[2] for n in archive.getnames()}
    assert package_files(ROOT) <= names
    assert {"pyproject.toml", "README.md", "LICENSE"} <= names


def test_data_files_in_a_package_folder_are_shipped(dist, tmp_path):
    """A data set added later (nn/datasets/*.gz, with no __init__.py) goes into the wheel."""
    sdist, _ = dist
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path / "src", filter="data")
    (source,) = (tmp_path / "src").iterdir()
    (source / "nn" / "datasets").mkdir(exist_ok=True)   # the digits live there already
    (source / "nn" / "datasets" / "sample.gz").write_bytes(b"\x1f\x8b not really")
    wheel = build("wheel", source, tmp_path / "wheel")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "nn/datasets/sample.gz" in names
    assert package_files(source) <= names


# --- the wheel installed in an empty virtual environment --------------------------------

class Installed:
    """A virtual environment with the wheel installed, and a clean folder to run in."""

    def __init__(self, root: Path, wheel: Path) -> None:
        self.root, self.wheel = root, wheel
        self.bin = root / "venv" / "bin"
        self.work = root / "work"
        self.work.mkdir()
        venv.create(root / "venv", with_pip=True)
        self.pip("install", "--quiet", str(wheel))

    def env(self) -> dict[str, str]:
        # Only the environment's own programs: no system Graphviz, nothing from the tree.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env["PATH"] = str(self.bin)
        return env

    def pip(self, *args: str) -> None:
        subprocess.run([str(self.bin / "python"), "-m", "pip", *args], check=True,
                       capture_output=True, env=self.env(), timeout=600)

    def run(self, program: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.bin / program), *args], capture_output=True, text=True,
                              cwd=self.work, env=self.env(), timeout=300)


@pytest.fixture(scope="session")
def installed(dist, tmp_path_factory):
    _, wheel = dist
    return Installed(tmp_path_factory.mktemp("installed"), wheel)


def test_installed_wheel_imports_from_site_packages(installed):
    result = installed.run("python", "-c", "import autograd, nn, nn.optim.lr_scheduler; "
                           "print(autograd.__file__); print(nn.__file__)")
    assert result.returncode == 0, result.stderr
    for line in result.stdout.splitlines():
        assert "site-packages" in line and str(ROOT) not in line


def test_installed_command_prints_its_version(installed):
    result = installed.run("valuegrad", "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "valuegrad 0.1.0"


@pytest.fixture(scope="session")
def graph_without_renderer(installed):
    """`valuegrad graph` run before any extra is installed."""
    return installed.run("valuegrad", "graph", "x*y", "x=2", "y=3", "--out", "g.svg")


def test_installed_graph_without_a_renderer_says_how_to_get_one(graph_without_renderer):
    result = graph_without_renderer
    assert result.returncode == 1
    assert "pip install 'valuegrad[render]'" in result.stderr
    assert "Traceback" not in result.stderr
    assert "x*y = 6" in result.stdout


@pytest.fixture(scope="session")
def with_extras(installed, graph_without_renderer):
    """The same environment with the render and plot extras installed from the wheel
    (after `graph_without_renderer` has run without them)."""
    installed.pip("install", "--quiet", f"{installed.wheel}[render,plot]")
    return installed


@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".png", b"\x89PNG")])
def test_installed_graph_renders_with_no_system_graphviz(with_extras, suffix, magic):
    out = f"neuron{suffix}"
    result = with_extras.run("valuegrad", "graph", "tanh(x*w + b)", "x=2", "w=-3", "b=6.88",
                             "--out", out)
    assert result.returncode == 0, result.stderr
    assert (with_extras.work / out).read_bytes().startswith(magic)


def test_installed_train_writes_its_files(with_extras):
    result = with_extras.run("valuegrad", "train", "--epochs", "2", "--samples", "20",
                             "--hidden", "4", "--out", "run", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (with_extras.work / "run").iterdir()) == [
        "decision_boundary.png", "history.csv", "loss.png", "model.json", "report.html"]
    result = with_extras.run("valuegrad", "predict", "--model", "run/model.json", "0.5", "0.1")
    assert result.returncode == 0, result.stderr
    assert "class:" in result.stdout
