"""Data sets, splitting, and batches: pure Python, reproducible by seed.

Each `make_*` function returns `(X, y)`: X a list of points, each a list of
floats, and y a list of int class labels 0, 1, ... (scikit-learn's shapes and
conventions). `seed` may be an int (the same seed gives the same data), a
`random.Random` to draw from, or None for fresh randomness. `load_digits`
returns real data in the same shapes: 8x8 images of handwritten digits,
shipped with the package.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import random
from collections.abc import Iterator, Sequence
from importlib import resources
from numbers import Integral, Real
from typing import TypeVar

from nn import _checks as check

__all__ = ["make_moons", "make_circles", "make_blobs", "make_xor", "make_spiral",
           "load_digits", "train_test_split", "batches", "to_pm1"]

Row = TypeVar("Row")
Label = TypeVar("Label")
Seed = int | random.Random | None


# --- making data sets -------------------------------------------------------

def _linspace(start: float, stop: float, num: int, endpoint: bool = True) -> list[float]:
    # numpy.linspace: num evenly spaced values; with endpoint the last is stop.
    if num <= 1:
        return [start] * num
    step = (stop - start) / (num - 1 if endpoint else num)
    return [start + i * step for i in range(num)]


def _split_evenly(n: int, parts: int) -> list[int]:
    # As scikit-learn: n // parts each, the first n % parts get one more.
    return [n // parts + (1 if i < n % parts else 0) for i in range(parts)]


# The largest input a model is trained on. A neuron multiplies inputs by weights and
# losses square the results: below sqrt(largest float) ~ 1.3e154 those stay finite
# floats, where [1e308, -1e308] overflows to inf after one step.
MAX_INPUT = 1e150


def check_points(owner: str, name: str, X: Sequence[Sequence[float]]) -> None:
    """Raise a ValueError naming the first coordinate of the points `X` that is not a
    finite number of size at most `MAX_INPUT` (a Value's `.data` counts as its number)."""
    for i, point in enumerate(X):
        if isinstance(point, (str, bytes)) or not hasattr(point, "__len__"):
            continue  # a model of its own input type checks it
        for j, value in enumerate(point):
            number = getattr(value, "data", value)
            if isinstance(number, bool) or not isinstance(number, Real):
                continue  # the model says what it accepts
            if not abs(number) <= MAX_INPUT:  # type: ignore[operator]  # false for nan
                raise ValueError(f"{owner}: {name}[{i}][{j}] is {number!r}; inputs must be "
                                 f"finite numbers of size at most {MAX_INPUT:g} "
                                 f"(nn.data.MAX_INPUT), so that training computes with them")


def _finish(owner: str, X: list[list[float]], y: list[int], noise: float, rng: random.Random,
            shuffle: bool) -> tuple[list[list[float]], list[int]]:
    if noise > 0.0:
        X = [[coordinate + rng.gauss(0.0, noise) for coordinate in point] for point in X]
        check_points(f"{owner}(noise={noise!r})", "X", X)
    if shuffle:
        order = list(range(len(X)))
        rng.shuffle(order)
        X, y = [X[i] for i in order], [y[i] for i in order]
    return X, y


def make_moons(n_samples: int = 100, noise: float = 0.0, seed: Seed = None,
               shuffle: bool = True) -> tuple[list[list[float]], list[int]]:
    """Two interleaving half circles, as scikit-learn's make_moons.

    Label 0: n_samples // 2 points (cos t, sin t), t evenly spaced in [0, pi].
    Label 1: the rest, (1 - cos t, 1 - sin t - 0.5). Then Gaussian noise of
    standard deviation `noise` on each coordinate, then shuffled if `shuffle`.
    """
    owner = "make_moons"
    n_samples = check.positive_int(owner, "n_samples", n_samples)
    noise = check.non_negative(owner, "noise", noise)
    shuffle = check.flag(owner, "shuffle", shuffle)
    rng = check.rng(owner, seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    X = [[math.cos(t), math.sin(t)] for t in _linspace(0.0, math.pi, n_out)]
    X += [[1.0 - math.cos(t), 1.0 - math.sin(t) - 0.5] for t in _linspace(0.0, math.pi, n_in)]
    return _finish(owner, X, [0] * n_out + [1] * n_in, noise, rng, shuffle)


def make_circles(n_samples: int = 100, noise: float = 0.0, factor: float = 0.8,
                 seed: Seed = None, shuffle: bool = True) -> tuple[list[list[float]], list[int]]:
    """A circle inside another, as scikit-learn's make_circles.

    Label 0: n_samples // 2 points evenly spaced on the unit circle. Label 1: the
    rest, on the circle of radius `factor` (0 <= factor < 1). Then Gaussian
    noise of standard deviation `noise`, then shuffled if `shuffle`.
    """
    owner = "make_circles"
    n_samples = check.positive_int(owner, "n_samples", n_samples)
    noise = check.non_negative(owner, "noise", noise)
    factor = check.in_unit_interval(owner, "factor", factor, include_one=False)
    shuffle = check.flag(owner, "shuffle", shuffle)
    rng = check.rng(owner, seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    X = [[math.cos(t), math.sin(t)]
         for t in _linspace(0.0, 2.0 * math.pi, n_out, endpoint=False)]
    X += [[factor * math.cos(t), factor * math.sin(t)]
          for t in _linspace(0.0, 2.0 * math.pi, n_in, endpoint=False)]
    return _finish(owner, X, [0] * n_out + [1] * n_in, noise, rng, shuffle)


def make_blobs(n_samples: int = 100, centers: int | Sequence[Sequence[float]] = 3,
               n_features: int = 2, cluster_std: float | Sequence[float] = 1.0,
               center_box: tuple[float, float] = (-10.0, 10.0), seed: Seed = None,
               shuffle: bool = True) -> tuple[list[list[float]], list[int]]:
    """Gaussian clusters, as scikit-learn's make_blobs.

    `centers` is a number of clusters, whose centers are drawn uniformly in
    `center_box` in each of `n_features` coordinates, or the list of centers
    itself (then n_features is their length). Cluster k gets label k,
    n_samples // len(centers) points (the first n_samples % len(centers)
    clusters one more) and standard deviation `cluster_std` (or
    `cluster_std[k]`) in each coordinate.
    """
    owner = "make_blobs"
    n_samples = check.positive_int(owner, "n_samples", n_samples)
    shuffle = check.flag(owner, "shuffle", shuffle)
    rng = check.rng(owner, seed)
    if isinstance(centers, int) and not isinstance(centers, bool):
        n_centers = check.positive_int(owner, "centers", centers)
        n_features = check.positive_int(owner, "n_features", n_features)
        if isinstance(center_box, (str, bytes)) or not isinstance(center_box, Sequence) \
                or len(center_box) != 2:
            raise TypeError(f"{owner}: center_box must be a pair (low, high), got {center_box!r}")
        low = check.real(owner, "center_box[0]", center_box[0])
        high = check.real(owner, "center_box[1]", center_box[1])
        if low > high:
            raise ValueError(f"{owner}: center_box must have low <= high, got {center_box!r}")
        points = [[rng.uniform(low, high) for _ in range(n_features)] for _ in range(n_centers)]
    elif isinstance(centers, Sequence) and not isinstance(centers, (str, bytes)) and centers:
        points = []
        for k, center in enumerate(centers):
            if isinstance(center, (str, bytes)) or not isinstance(center, Sequence) or not center:
                raise TypeError(f"{owner}: centers[{k}] must be a list of numbers, "
                                f"got {center!r}")
            points.append([check.real(owner, f"centers[{k}][{j}]", c)
                           for j, c in enumerate(center)])
        if len({len(point) for point in points}) != 1:
            raise ValueError(f"{owner}: all centers must have the same number of coordinates")
        n_centers = len(points)
    else:
        raise TypeError(f"{owner}: centers must be a positive int or a non-empty list of "
                        f"points, got {centers!r}")
    if isinstance(cluster_std, Sequence) and not isinstance(cluster_std, (str, bytes)):
        if len(cluster_std) != n_centers:
            raise ValueError(f"{owner}: cluster_std has {len(cluster_std)} values for "
                             f"{n_centers} centers")
        stds = [check.non_negative(owner, f"cluster_std[{k}]", s)
                for k, s in enumerate(cluster_std)]
    else:
        stds = [check.non_negative(owner, "cluster_std", cluster_std)] * n_centers
    X: list[list[float]] = []
    y: list[int] = []
    for k, count in enumerate(_split_evenly(n_samples, n_centers)):
        for _ in range(count):
            X.append([c + rng.gauss(0.0, stds[k]) if stds[k] > 0.0 else c for c in points[k]])
            y.append(k)
    return _finish(owner, X, y, 0.0, rng, shuffle)


def make_xor(n_samples: int = 100, noise: float = 0.0, seed: Seed = None,
             shuffle: bool = True) -> tuple[list[list[float]], list[int]]:
    """Points in the four quadrants of [-1, 1]^2, labelled by the XOR of their signs.

    The quadrants get n_samples // 4 points each (the first n_samples % 4 one
    more), in the order (+, +), (-, -), (-, +), (+, -), drawn uniformly in that
    quadrant of the square. Label 1 when the two coordinates have different
    signs, else 0; labels are given before the Gaussian noise of standard
    deviation `noise` is added, so noise can carry points across an axis.
    """
    owner = "make_xor"
    n_samples = check.positive_int(owner, "n_samples", n_samples)
    noise = check.non_negative(owner, "noise", noise)
    shuffle = check.flag(owner, "shuffle", shuffle)
    rng = check.rng(owner, seed)
    X: list[list[float]] = []
    y: list[int] = []
    quadrants = [(1.0, 1.0), (-1.0, -1.0), (-1.0, 1.0), (1.0, -1.0)]
    for (sign_x, sign_y), count in zip(quadrants, _split_evenly(n_samples, 4)):
        for _ in range(count):
            # 1 - random() lies in (0, 1], so no point sits on an axis.
            X.append([sign_x * (1.0 - rng.random()), sign_y * (1.0 - rng.random())])
            y.append(int(sign_x != sign_y))
    return _finish(owner, X, y, noise, rng, shuffle)


def make_spiral(n_samples: int = 100, classes: int = 3, noise: float = 0.0,
                seed: Seed = None, shuffle: bool = True) -> tuple[list[list[float]], list[int]]:
    """Interleaved spiral arms, one per class: the spiral of Stanford's CS231n notes.

    Class j gets n_samples // classes points (the first n_samples % classes one
    more) with radius r evenly spaced in [0, 1] and angle t evenly spaced in
    [4j, 4(j + 1)] plus Gaussian noise of standard deviation `noise` (the notes
    use 0.2); the point is (r sin t, r cos t).
    """
    owner = "make_spiral"
    n_samples = check.positive_int(owner, "n_samples", n_samples)
    classes = check.positive_int(owner, "classes", classes)
    noise = check.non_negative(owner, "noise", noise)
    shuffle = check.flag(owner, "shuffle", shuffle)
    rng = check.rng(owner, seed)
    X: list[list[float]] = []
    y: list[int] = []
    for j, count in enumerate(_split_evenly(n_samples, classes)):
        radii = _linspace(0.0, 1.0, count)
        angles = _linspace(4.0 * j, 4.0 * (j + 1), count)
        for r, t in zip(radii, angles):
            if noise > 0.0:
                t += rng.gauss(0.0, noise)
            X.append([r * math.sin(t), r * math.cos(t)])
            y.append(j)
    return _finish(owner, X, y, 0.0, rng, shuffle)


# --- real data ----------------------------------------------------------------

DIGITS_FILE = "datasets/digits.gz"
DIGITS_COUNT = 1797
DIGITS_SIDE = 8
# sha256 of the uncompressed bytes (see nn/datasets/README.md).
_DIGITS_SHA256 = "87ff0c9e40dc7e2c0e34e7257799c2e3f3aec1a016363bb11cad869ec428a826"


def load_digits() -> tuple[list[list[float]], list[int]]:
    """The UCI handwritten digits: 1797 images of 8x8 pixels and their digits 0-9.

    Returns `(X, y)`: each X[i] is a list of 64 floats in [0, 1], the image's
    pixels row by row (the original counts 0..16 divided by 16), and y[i] the
    digit it shows. The images are those of scikit-learn's `load_digits`, in
    the same order. They ship with this package (44 kB), so nothing is
    downloaded. Source: E. Alpaydin and C. Kaynak, "Optical Recognition of
    Handwritten Digits", UCI Machine Learning Repository (1998), licensed
    CC BY 4.0; see nn/datasets/README.md.
    """
    pixels = DIGITS_SIDE * DIGITS_SIDE
    try:
        raw = gzip.decompress(resources.files("nn").joinpath(DIGITS_FILE).read_bytes())
    except (OSError, EOFError) as error:
        raise OSError(f"load_digits: cannot read nn/{DIGITS_FILE}, which ships with the "
                      f"package: {error}") from None
    if (len(raw) != DIGITS_COUNT * (pixels + 1)
            or hashlib.sha256(raw).hexdigest() != _DIGITS_SHA256):
        raise OSError(f"load_digits: nn/{DIGITS_FILE} is damaged (its contents are not the "
                      f"digits shipped with the package); reinstall valuegrad")
    scale = 1.0 / 16.0  # a power of two: every pixel is exact
    X = [[v * scale for v in raw[i * pixels:(i + 1) * pixels]] for i in range(DIGITS_COUNT)]
    return X, list(raw[DIGITS_COUNT * pixels:])


# --- splitting and batching -------------------------------------------------

def train_test_split(X: Sequence[Row], y: Sequence[Label], test_size: float | int = 0.25,
                     shuffle: bool = True, seed: Seed = None,
                     ) -> tuple[list[Row], list[Row], list[Label], list[Label]]:
    """Split samples into a training and a test set: `X_train, X_test, y_train, y_test`.

    `test_size` is a fraction in (0, 1) (the test set gets ceil(test_size * n)
    samples) or a number of samples; both sets must be non-empty. Without
    `shuffle` the test set is the last samples, as in scikit-learn.
    """
    owner = "train_test_split"
    n = check.samples(owner, X, y)
    shuffle = check.flag(owner, "shuffle", shuffle)
    if isinstance(test_size, bool) or not isinstance(test_size, Real):
        raise TypeError(f"{owner}: test_size must be a fraction or an int, "
                        f"got {type(test_size).__name__}")
    if isinstance(test_size, Integral):
        n_test = int(test_size)
        if not 1 <= n_test <= n - 1:
            raise ValueError(f"{owner}: test_size={test_size} must be between 1 and {n - 1} "
                             f"for {n} samples, so that both sets are non-empty")
    else:
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"{owner}: test_size must be in (0, 1) as a fraction, "
                             f"got {test_size!r}")
        n_test = math.ceil(test_size * n)
        if n_test > n - 1:
            raise ValueError(f"{owner}: test_size={test_size!r} leaves no training samples "
                             f"out of {n}")
    order = list(range(n))
    if shuffle:
        check.rng(owner, seed).shuffle(order)
        test, train = order[:n_test], order[n_test:]
    else:
        train, test = order[:n - n_test], order[n - n_test:]
    return ([X[i] for i in train], [X[i] for i in test],
            [y[i] for i in train], [y[i] for i in test])


def batches(X: Sequence[Row], y: Sequence[Label], batch_size: int | None = None,
            shuffle: bool = True, seed: Seed = None,
            ) -> Iterator[tuple[list[Row], list[Label]]]:
    """Yield `(X_batch, y_batch)` pairs that cover every sample exactly once: one epoch.

    `batch_size=None` gives one batch of everything (full-batch gradient
    descent), 1 gives single samples (stochastic), anything else mini-batches;
    the last batch may be smaller. With `shuffle` the order is random: for a
    new order each epoch, pass a `random.Random` (it advances) or a different
    int seed each epoch, not the same int.
    """
    owner = "batches"
    n = check.samples(owner, X, y)
    size = n if batch_size is None else check.positive_int(owner, "batch_size", batch_size)
    order = list(range(n))
    if check.flag(owner, "shuffle", shuffle):
        check.rng(owner, seed).shuffle(order)

    # A generator inside, so that bad arguments raise at the call, not at the first batch.
    def generate() -> Iterator[tuple[list[Row], list[Label]]]:
        for start in range(0, n, size):
            chosen = order[start:start + size]
            yield [X[i] for i in chosen], [y[i] for i in chosen]

    return generate()


def to_pm1(y: Sequence[int]) -> list[int]:
    """Labels 0/1 as -1/+1 (for the hinge loss): 0 -> -1, 1 -> 1."""
    if isinstance(y, (str, bytes)) or not isinstance(y, Sequence):
        raise TypeError(f"to_pm1: y must be a list of 0/1 labels, got {type(y).__name__}")
    result = []
    for i, label in enumerate(y):
        if isinstance(label, bool) or label not in (0, 1):
            raise ValueError(f"to_pm1: y[{i}] must be 0 or 1, got {label!r}")
        result.append(1 if label == 1 else -1)
    return result
