"""nn.data: shapes, labels, geometry, reproducibility, splitting and batching."""

import math
import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nn.data import (
    batches,
    make_blobs,
    make_circles,
    make_moons,
    make_spiral,
    make_xor,
    to_pm1,
    train_test_split,
)

MAKERS = [make_moons, make_circles, make_blobs, make_xor, make_spiral]
NAMES = [m.__name__ for m in MAKERS]


def noisy(maker, n, seed):
    # Every maker with randomness in it: noise where it has some, else its spread.
    if maker is make_blobs:
        return maker(n, seed=seed)
    return maker(n, noise=0.1, seed=seed)


@pytest.mark.parametrize("maker", MAKERS, ids=NAMES)
@pytest.mark.parametrize("n", [1, 2, 7, 100])
def test_shapes_and_label_types(maker, n):
    X, y = noisy(maker, n, seed=0)
    assert len(X) == len(y) == n
    for point, label in zip(X, y):
        assert isinstance(point, list) and len(point) == 2
        assert all(isinstance(c, float) and math.isfinite(c) for c in point)
        assert type(label) is int


@pytest.mark.parametrize(("maker", "n", "counts"), [
    (make_moons, 7, {0: 3, 1: 4}),          # n // 2 on the outer moon, the rest inner
    (make_circles, 9, {0: 4, 1: 5}),
    (make_blobs, 10, {0: 4, 1: 3, 2: 3}),   # n // 3 each, the first n % 3 one more
    (make_xor, 10, {0: 6, 1: 4}),           # quadrants get 3, 3, 2, 2: labels 0, 0, 1, 1
    (make_xor, 7, {0: 4, 1: 3}),            # quadrants 2, 2, 2, 1
    (make_spiral, 11, {0: 4, 1: 4, 2: 3}),
], ids=["moons", "circles", "blobs", "xor10", "xor7", "spiral"])
def test_label_counts(maker, n, counts):
    assert Counter(maker(n, seed=1)[1]) == counts


def test_more_classes():
    assert Counter(make_spiral(10, classes=5, seed=0)[1]) == {k: 2 for k in range(5)}
    assert Counter(make_blobs(8, centers=4, seed=0)[1]) == {k: 2 for k in range(4)}


@pytest.mark.parametrize("maker", MAKERS, ids=NAMES)
def test_same_seed_same_data_other_seed_other_data(maker):
    assert noisy(maker, 50, seed=3) == noisy(maker, 50, seed=3)
    assert noisy(maker, 50, seed=3) != noisy(maker, 50, seed=4)
    # a random.Random is drawn from, the same way as its seed
    assert noisy(maker, 50, seed=random.Random(3)) == noisy(maker, 50, seed=3)


@pytest.mark.parametrize("maker", [make_moons, make_circles, make_xor, make_spiral],
                         ids=["moons", "circles", "xor", "spiral"])
def test_shuffle_false_keeps_classes_in_order(maker):
    X, y = maker(20, seed=0, shuffle=False)
    assert y == sorted(y)
    X2, y2 = maker(20, seed=0)
    assert sorted(map(tuple, X2)) == sorted(map(tuple, X)) and y2 != y


def test_moons_lie_on_their_half_circles_without_noise():
    X, y = make_moons(41, seed=0)
    outer = [p for p, label in zip(X, y) if label == 0]
    inner = [p for p, label in zip(X, y) if label == 1]
    # outer: the upper half of the unit circle; inner: the lower half of the unit
    # circle around (1, 0.5).
    for x0, x1 in outer:
        assert math.isclose(math.hypot(x0, x1), 1.0, rel_tol=1e-12) and x1 >= 0.0
    for x0, x1 in inner:
        assert math.isclose(math.hypot(x0 - 1.0, x1 - 0.5), 1.0, rel_tol=1e-12)
        assert x1 <= 0.5 + 1e-12
    # evenly spaced in angle, from 0 to pi, ends included
    angles = sorted(math.atan2(x1, x0) for x0, x1 in outer)
    assert angles == pytest.approx([k * math.pi / 19 for k in range(20)], abs=1e-12)
    angles = sorted(math.atan2(0.5 - x1, 1.0 - x0) for x0, x1 in inner)
    assert angles == pytest.approx([k * math.pi / 20 for k in range(21)], abs=1e-12)


def test_circles_have_radii_one_and_factor_without_noise():
    X, y = make_circles(40, factor=0.3, seed=0)
    for (x0, x1), label in zip(X, y):
        assert math.isclose(math.hypot(x0, x1), 1.0 if label == 0 else 0.3, rel_tol=1e-12)
    # 20 angles 2 pi k / 20 on each circle: 0 once, 2 pi not again
    outer = sorted(math.atan2(x1, x0) % (2 * math.pi) for (x0, x1), c in zip(X, y) if c == 0)
    assert outer == pytest.approx([k * math.pi / 10 for k in range(20)], abs=1e-12)


def test_noise_has_the_requested_standard_deviation():
    clean, _ = make_moons(4000, seed=0, shuffle=False)
    X, _ = make_moons(4000, noise=0.2, seed=0, shuffle=False)
    deviations = [a - b for p, q in zip(X, clean) for a, b in zip(p, q)]
    mean = sum(deviations) / len(deviations)
    std = math.sqrt(sum(d * d for d in deviations) / len(deviations))
    # 8000 draws: the sample std is within a few percent of 0.2, the mean near 0
    assert abs(mean) < 0.01 and abs(std - 0.2) < 0.01


def test_blobs_without_spread_sit_on_centers_inside_the_box():
    X, y = make_blobs(30, centers=3, n_features=4, cluster_std=0.0, center_box=(-2.0, 5.0),
                      seed=7)
    places = {label: {tuple(p) for p, c in zip(X, y) if c == label} for label in range(3)}
    assert all(len(points) == 1 for points in places.values())
    centers = [next(iter(points)) for points in places.values()]
    assert len(set(centers)) == 3
    assert all(len(c) == 4 and all(-2.0 <= v <= 5.0 for v in c) for c in centers)


def test_blobs_around_given_centers():
    centers = [[0.0, 0.0, 0.0], [10.0, -10.0, 5.0]]
    X, y = make_blobs(2000, centers=centers, cluster_std=[0.5, 2.0], seed=0)
    for label, (center, std) in enumerate(zip(centers, [0.5, 2.0])):
        points = [p for p, c in zip(X, y) if c == label]
        assert len(points) == 1000 and all(len(p) == 3 for p in points)
        for j in range(3):
            values = [p[j] for p in points]
            mean = sum(values) / 1000
            spread = math.sqrt(sum((v - mean) ** 2 for v in values) / 999)
            assert abs(mean - center[j]) < 4 * std / math.sqrt(1000)
            assert abs(spread - std) < 0.1 * std


def test_xor_labels_are_the_xor_of_the_signs():
    X, y = make_xor(200, seed=2)
    for (x0, x1), label in zip(X, y):
        assert 0 < abs(x0) <= 1 and 0 < abs(x1) <= 1
        assert label == int((x0 > 0) != (x1 > 0))
    quadrants = Counter((x0 > 0, x1 > 0) for x0, x1 in X)
    assert sorted(quadrants.values()) == [50, 50, 50, 50]


def test_spiral_arms_without_noise():
    # Class j: radius r_i = i / (N - 1), angle t_i = 4j + 4 i / (N - 1), at (r sin t, r cos t).
    N = 25
    X, y = make_spiral(3 * N, classes=3, seed=0, shuffle=False)
    for j in range(3):
        arm = X[j * N:(j + 1) * N]
        assert y[j * N:(j + 1) * N] == [j] * N
        for i, (x0, x1) in enumerate(arm):
            r, t = i / (N - 1), 4 * j + 4 * i / (N - 1)
            assert x0 == pytest.approx(r * math.sin(t), abs=1e-12)
            assert x1 == pytest.approx(r * math.cos(t), abs=1e-12)


def test_spiral_noise_moves_only_the_angle():
    X, _ = make_spiral(60, classes=2, noise=0.3, seed=1, shuffle=False)
    radii = [math.hypot(x0, x1) for x0, x1 in X]
    expected = [i / 29 for i in range(30)] * 2
    assert radii == pytest.approx(expected, abs=1e-12)
    clean, _ = make_spiral(60, classes=2, seed=1, shuffle=False)
    assert X != clean


@pytest.mark.parametrize(("call", "error", "words"), [
    (lambda: make_moons(0), ValueError, "n_samples"),
    (lambda: make_moons(10.0), TypeError, "n_samples"),
    (lambda: make_moons(True), TypeError, "n_samples"),
    (lambda: make_moons(10, noise=-0.1), ValueError, "noise"),
    (lambda: make_moons(10, noise=math.inf), ValueError, "noise"),
    (lambda: make_moons(10, seed="1"), TypeError, "seed"),
    (lambda: make_moons(10, shuffle=1), TypeError, "shuffle"),
    (lambda: make_circles(10, factor=1.0), ValueError, "factor"),
    (lambda: make_circles(10, factor=-0.5), ValueError, "factor"),
    (lambda: make_blobs(10, centers=0), ValueError, "centers"),
    (lambda: make_blobs(10, centers=[]), TypeError, "centers"),
    (lambda: make_blobs(10, centers=[[0, 0], [1]]), ValueError, "same number"),
    (lambda: make_blobs(10, centers=[[0, "a"]]), TypeError, r"centers\[0\]\[1\]"),
    (lambda: make_blobs(10, n_features=0), ValueError, "n_features"),
    (lambda: make_blobs(10, cluster_std=-1.0), ValueError, "cluster_std"),
    (lambda: make_blobs(10, centers=2, cluster_std=[1.0]), ValueError, "cluster_std"),
    (lambda: make_blobs(10, center_box=(5, -5)), ValueError, "center_box"),
    (lambda: make_blobs(10, center_box=5), TypeError, "center_box"),
    (lambda: make_xor(-3), ValueError, "n_samples"),
    (lambda: make_spiral(10, classes=0), ValueError, "classes"),
    (lambda: make_spiral(10, noise=-1), ValueError, "noise"),
])
def test_bad_arguments_are_refused_by_name(call, error, words):
    with pytest.raises(error, match=words):
        call()


# --- train_test_split -------------------------------------------------------

def test_split_sizes_disjoint_and_complete():
    X = [[float(i)] for i in range(10)]
    y = list(range(10))
    X_train, X_test, y_train, y_test = train_test_split(X, y, seed=0)
    # ceil(0.25 * 10) = 3 test samples
    assert len(X_test) == len(y_test) == 3 and len(X_train) == len(y_train) == 7
    assert sorted(y_train + y_test) == y and not set(y_train) & set(y_test)
    assert [row[0] for row in X_train] == y_train and [row[0] for row in X_test] == y_test
    assert train_test_split(X, y, seed=0) == (X_train, X_test, y_train, y_test)
    assert train_test_split(X, y, seed=1) != (X_train, X_test, y_train, y_test)


def test_split_by_count_and_without_shuffle():
    y = list(range(8))
    _, _, y_train, y_test = train_test_split(y, y, test_size=2, shuffle=False)
    assert y_train == [0, 1, 2, 3, 4, 5] and y_test == [6, 7]
    _, _, y_train, y_test = train_test_split(y, y, test_size=0.5, shuffle=False)
    assert y_train == [0, 1, 2, 3] and y_test == [4, 5, 6, 7]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 200), fraction=st.floats(0.01, 0.99), seed=st.integers(0, 10**6))
def test_split_sizes_for_any_fraction(n, fraction, seed):
    n_test = math.ceil(fraction * n)
    y = list(range(n))
    if n_test > n - 1:
        with pytest.raises(ValueError, match="no training samples"):
            train_test_split(y, y, test_size=fraction, seed=seed)
        return
    _, _, y_train, y_test = train_test_split(y, y, test_size=fraction, seed=seed)
    assert len(y_test) == n_test and len(y_train) == n - n_test
    assert sorted(y_train + y_test) == y


@pytest.mark.parametrize(("args", "kwargs", "error", "words"), [
    (([[0.0]] * 3, [0, 1]), {}, ValueError, "X has 3 samples but y has 2"),
    (([], []), {}, ValueError, "empty"),
    (("abc", [0, 1, 2]), {}, TypeError, "X must be a list"),
    (([[0.0]] * 4, [0] * 4), {"test_size": 0.0}, ValueError, "test_size"),
    (([[0.0]] * 4, [0] * 4), {"test_size": 1.0}, ValueError, "test_size"),
    (([[0.0]] * 4, [0] * 4), {"test_size": 4}, ValueError, "test_size"),
    (([[0.0]] * 4, [0] * 4), {"test_size": 0}, ValueError, "test_size"),
    (([[0.0]] * 4, [0] * 4), {"test_size": True}, TypeError, "test_size"),
    (([[0.0]] * 4, [0] * 4), {"test_size": "0.2"}, TypeError, "test_size"),
    (([[0.0]] * 4, [0] * 4), {"seed": 1.5}, TypeError, "seed"),
])
def test_split_refuses_bad_arguments(args, kwargs, error, words):
    with pytest.raises(error, match=words):
        train_test_split(*args, **kwargs)


# --- batches ------------------------------------------------------------------

def test_full_batch_stochastic_and_mini_batch():
    X = [[float(i)] for i in range(10)]
    y = list(range(10))
    [(X_all, y_all)] = list(batches(X, y, shuffle=False))
    assert X_all == X and y_all == y
    assert [yb for _, yb in batches(X, y, batch_size=1, shuffle=False)] == [[i] for i in y]
    sizes = [len(yb) for _, yb in batches(X, y, batch_size=4, seed=0)]
    assert sizes == [4, 4, 2]
    for X_batch, y_batch in batches(X, y, batch_size=3, seed=0):
        assert [row[0] for row in X_batch] == y_batch  # rows stay with their labels


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 100), batch_size=st.one_of(st.none(), st.integers(1, 120)),
       seed=st.integers(0, 10**6))
def test_each_epoch_covers_every_sample_exactly_once(n, batch_size, seed):
    y = list(range(n))
    seen = [label for _, y_batch in batches(y, y, batch_size, seed=seed) for label in y_batch]
    assert sorted(seen) == y
    size = n if batch_size is None else batch_size
    assert len(list(batches(y, y, batch_size, seed=seed))) == math.ceil(n / size)


def test_shuffling_per_epoch():
    y = list(range(30))
    first = [yb for _, yb in batches(y, y, 5, seed=4)]
    assert first == [yb for _, yb in batches(y, y, 5, seed=4)]  # an int seed repeats
    assert sum(first, []) != y
    rng = random.Random(4)
    epoch_1 = [yb for _, yb in batches(y, y, 5, seed=rng)]
    epoch_2 = [yb for _, yb in batches(y, y, 5, seed=rng)]  # a Random advances
    assert epoch_1 == first and epoch_2 != epoch_1


@pytest.mark.parametrize(("kwargs", "error", "words"), [
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"batch_size": -2}, ValueError, "batch_size"),
    ({"batch_size": 2.0}, TypeError, "batch_size"),
    ({"batch_size": True}, TypeError, "batch_size"),
    ({"shuffle": "yes"}, TypeError, "shuffle"),
    ({"seed": "0"}, TypeError, "seed"),
])
def test_batches_refuse_bad_arguments_at_the_call(kwargs, error, words):
    with pytest.raises(error, match=words):
        batches([[0.0]] * 3, [0, 1, 0], **kwargs)  # not iterated: raises at once
    with pytest.raises(ValueError, match="X has 2 samples but y has 3"):
        batches([[0.0]] * 2, [0, 1, 0])


def test_to_pm1():
    assert to_pm1([0, 1, 1, 0]) == [-1, 1, 1, -1]
    assert to_pm1(make_moons(4, seed=0, shuffle=False)[1]) == [-1, -1, 1, 1]
    with pytest.raises(ValueError, match=r"y\[2\] must be 0 or 1, got 2"):
        to_pm1([0, 1, 2])
    with pytest.raises(ValueError, match=r"y\[0\]"):
        to_pm1([-1, 1])
    with pytest.raises(TypeError, match="y must be a list"):
        to_pm1(5)
