"""nn modules: micrograd compatibility, structure, inputs, initialization, dropout, saving."""

import json
import math
import random
import statistics

import micrograd.engine
import micrograd.nn
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from autograd import Value, gradcheck, no_grad


def batch(n=20, seed=0):
    rng = random.Random(seed)
    X = [[rng.uniform(-2, 2), rng.uniform(-1, 1)] for _ in range(n)]
    y = [rng.choice([-1.0, 1.0]) for _ in range(n)]
    return X, y


def set_weights(neuron, weights, bias):
    for w, value in zip(neuron.w, weights):
        w.data = value
    neuron.b.data = bias


# --- micrograd compatibility ----------------------------------------------------

def test_same_seed_gives_micrograds_parameters_outputs_loss_and_gradients():
    random.seed(1337)
    theirs = micrograd.nn.MLP(2, [16, 16, 1])
    random.seed(1337)
    ours = nn.MLP(2, [16, 16, 1])
    assert len(ours.parameters()) == len(theirs.parameters()) == 337
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]

    X, y = batch()
    # micrograd's demo loss, written with each library's own operations.
    their_scores = [theirs([micrograd.engine.Value(a) for a in x]) for x in X]
    their_loss = sum((1 + -yi * s).relu() for yi, s in zip(y, their_scores)) * (1.0 / len(y))
    their_loss = their_loss + 1e-4 * sum(p * p for p in theirs.parameters())
    their_loss.backward()
    our_scores = [ours(x) for x in X]
    our_loss = nn.hinge(our_scores, y) + nn.l2_penalty(ours, 1e-4)
    our_loss.backward()

    for a, b in zip(our_scores, their_scores):
        assert a.data == pytest.approx(b.data, abs=1e-12)
    assert our_loss.data == pytest.approx(their_loss.data, abs=1e-9)
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert a.grad == pytest.approx(b.grad, abs=1e-9)


def test_seed_none_draws_uniform_weights_from_the_global_generator_in_micrograds_order():
    random.seed(7)
    # micrograd: layer by layer, neuron by neuron, weight by weight; bias 0 after each neuron.
    expected = []
    for nin, nout in ((3, 4), (4, 2)):
        for _ in range(nout):
            expected += [random.uniform(-1, 1) for _ in range(nin)] + [0.0]
    random.seed(7)
    model = nn.MLP(3, [4, 2])
    assert [p.data for p in model.parameters()] == expected


def test_parameter_names_follow_micrograds_order():
    model = nn.MLP(2, [3, 1], seed=0)
    names = [name for name, _ in model.named_parameters()]
    expected = [f"layers.0.neurons.{j}.{p}" for j in range(3) for p in ("w0", "w1", "b")]
    expected += [f"layers.1.neurons.0.{p}" for p in ("w0", "w1", "w2", "b")]
    assert names == expected
    by_hand = [p for layer in model.layers for n in layer.neurons for p in (*n.w, n.b)]
    assert all(a is b for a, b in zip(model.parameters(), by_hand))
    assert len(model.parameters()) == len(by_hand)
    assert [p.label for p in model.layers[1].neurons[0].w] == ["w0", "w1", "w2"]
    assert model.layers[1].neurons[0].b.label == "b"


def test_seeded_models_are_reproducible_and_seeds_differ():
    a = nn.MLP(2, [8, 1], seed=5)
    b = nn.MLP(2, [8, 1], seed=5)
    c = nn.MLP(2, [8, 1], seed=6)
    assert a.state_dict() == b.state_dict()
    assert a.state_dict() != c.state_dict()


def test_hidden_layers_relu_last_layer_linear():
    model = nn.MLP(2, [16, 16, 1])
    assert [layer.activation for layer in model.layers] == ["relu", "relu", "linear"]
    assert all(n.b.data == 0.0 for layer in model.layers for n in layer.neurons)
    assert nn.MLP(2, [4, 1], activation="tanh", last_activation="sigmoid").layers[1].activation \
        == "sigmoid"


def test_model_returns_a_value_for_one_output_and_a_list_otherwise():
    assert isinstance(nn.MLP(2, [4, 1], seed=0)([1.0, 2.0]), Value)
    out = nn.MLP(2, [4, 3], seed=0)([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 3
    assert isinstance(nn.Layer(2, 1, seed=0)([1.0, 2.0]), Value)
    assert len(nn.Layer(2, 2, seed=0)([1.0, 2.0])) == 2


def test_hidden_layer_of_width_one_works_where_micrograd_breaks():
    with pytest.raises(TypeError):
        micrograd.nn.MLP(2, [1, 1])([1.0, 2.0])
    model = nn.MLP(2, [1, 1], activation="tanh", seed=3)
    inputs = [Value(0.3), Value(-0.7)]
    params = model.parameters()
    assert gradcheck(lambda *v: model(list(v[:2])), [*inputs])
    out = model(inputs)
    out.backward()
    assert any(p.grad != 0.0 for p in params)


def test_micrograd_style_neuron_arguments():
    assert nn.Neuron(3, nonlin=False).activation == "linear"
    assert nn.Neuron(3, False).activation == "linear"
    assert nn.Neuron(3).activation == "relu" and nn.Neuron(3).nonlin
    assert not nn.Layer(3, 2, nonlin=False).neurons[0].nonlin


# --- forward values and the graph ------------------------------------------------

@pytest.mark.parametrize("activation, f", [
    ("relu", lambda s: max(s, 0.0)),
    ("tanh", math.tanh),
    ("sigmoid", lambda s: 1.0 / (1.0 + math.exp(-s))),
    ("leaky_relu", lambda s: s if s > 0 else 0.01 * s),
    ("linear", lambda s: s),
])
def test_neuron_computes_activation_of_weighted_sum(activation, f):
    neuron = nn.Neuron(2, activation)
    for weights, bias in (([0.5, -2.0], 0.25), ([1.5, 0.75], -0.5)):
        set_weights(neuron, weights, bias)
        x = [1.0, 3.0]
        s = weights[0] * x[0] + weights[1] * x[1] + bias
        assert neuron(x).data == pytest.approx(f(s), rel=1e-15, abs=1e-15)


def test_weighted_sum_is_one_node_and_a_layer_shares_its_inputs():
    layer = nn.Layer(3, 4, activation="relu", seed=1)
    outs = layer([1.0, -2.0, 0.5])
    dots = [out.children[0] for out in outs]
    assert all(d.op == "dot" for d in dots)
    first = dots[0].children
    assert len(first) == 3 + 3 + 1
    for d, neuron in zip(dots, layer.neurons):
        assert all(a is b for a, b in zip(d.children, (*neuron.w, *first[3:6], neuron.b)))
    linear = nn.Neuron(2, "linear", seed=0)([1.0, 2.0])
    assert linear.op == "dot"


def test_value_inputs_keep_their_graph():
    model = nn.MLP(2, [3, 1], activation="tanh", seed=2)
    x = [Value(0.4), Value(-1.1)]
    assert gradcheck(lambda a, b: model([a, b]), x)


def test_wrong_input_length_names_expected_and_received():
    model = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="expects 2 inputs, got 3"):
        model([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="expects 2 inputs, got 1"):
        nn.Neuron(2)([1.0])
    with pytest.raises(ValueError, match="expects 2 inputs, got 0"):
        nn.Layer(2, 2)([])


def test_bad_inputs_raise_type_errors():
    model = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(TypeError, match="list of 2 numbers"):
        model(1.0)
    with pytest.raises(TypeError, match="list of 2 numbers"):
        model(Value(1.0))
    with pytest.raises(TypeError, match="input 1 must be a number"):
        model([1.0, "x"])
    with pytest.raises(TypeError, match="input 0 must be a number"):
        model([True, 1.0])


@pytest.mark.parametrize("make, message", [
    (lambda: nn.MLP(0, [1]), "nin must be at least 1"),
    (lambda: nn.MLP(2, []), "non-empty list"),
    (lambda: nn.MLP(2, [3, 0]), r"nouts\[1\] must be at least 1"),
    (lambda: nn.MLP(2, [3, 1], activation="swish"), "unknown activation 'swish'"),
    (lambda: nn.MLP(2, [3, 1], init="zeros"), "unknown init 'zeros'"),
    (lambda: nn.MLP(2, [3, 1], dropout=1.5), r"dropout must be in \[0, 1\], got 1.5"),
    (lambda: nn.Neuron(2, nonlin="yes"), "nonlin must be True or False, got 'yes'"),
    (lambda: nn.MLP(2.0, [1]), "nin must be an int"),
    (lambda: nn.MLP(2, [1], seed="x"), "seed must be an int"),
])
def test_bad_constructor_arguments(make, message):
    with pytest.raises((TypeError, ValueError), match=message):
        make()


def test_small_networks_have_correct_gradients():
    @settings(max_examples=15, deadline=None)
    @given(nin=st.integers(1, 3), widths=st.lists(st.integers(1, 3), min_size=1, max_size=3),
           seed=st.integers(0, 10_000), activation=st.sampled_from(["tanh", "sigmoid"]))
    def check(nin, widths, seed, activation):
        model = nn.MLP(nin, widths, activation=activation, seed=seed)
        x = [0.1 * (i + 1) for i in range(nin)]

        def f():
            out = model(x)
            return Value.sum(out) if isinstance(out, list) else out

        f().backward()
        eps = 1e-6
        for p in model.parameters():
            # Central difference in each parameter, moved in place.
            start = p.data
            p.data = start + eps
            above = f().data
            p.data = start - eps
            below = f().data
            p.data = start
            assert p.grad == pytest.approx((above - below) / (2 * eps), rel=1e-4, abs=1e-7)
    check()


# --- initializations ---------------------------------------------------------------

def weights_of(layer):
    return [w.data for n in layer.neurons for w in n.w]


def test_uniform_xavier_and_he_have_their_documented_spread():
    nin, nout = 200, 100
    uniform = weights_of(nn.Layer(nin, nout, init="uniform", seed=1))
    assert max(map(abs, uniform)) <= 1.0
    assert statistics.pvariance(uniform) == pytest.approx(1 / 3, rel=0.05)  # (b-a)^2/12

    bound = math.sqrt(6 / (nin + nout))  # Glorot & Bengio: U(-a, a), a = sqrt(6/(fan_in+fan_out))
    xavier = weights_of(nn.Layer(nin, nout, init="xavier", seed=2))
    assert max(map(abs, xavier)) <= bound
    assert statistics.pvariance(xavier) == pytest.approx(bound ** 2 / 3, rel=0.05)

    he = weights_of(nn.Layer(nin, nout, init="he", seed=3))  # He et al.: N(0, 2/fan_in)
    assert statistics.fmean(he) == pytest.approx(0.0, abs=0.01)
    assert statistics.pstdev(he) == pytest.approx(math.sqrt(2 / nin), rel=0.05)
    assert all(n.b.data == 0.0 for n in nn.Layer(nin, 3, init="he", seed=3).neurons)


def test_mlp_xavier_uses_each_layers_fan_in_and_fan_out():
    model = nn.MLP(300, [10, 1], init="xavier", seed=4)
    first = weights_of(model.layers[0])
    assert max(map(abs, first)) <= math.sqrt(6 / 310)
    assert max(map(abs, first)) > 0.9 * math.sqrt(6 / 310)


# --- structure, modes and a custom module ---------------------------------------------

class Scaled(nn.Module):
    def __init__(self):
        self.scale = Value(2.0)
        self.body = nn.MLP(2, [2, 1], seed=0)
        self.heads = [nn.Neuron(1, "linear", seed=1), nn.Neuron(1, "linear", seed=2)]
        self.fixed = 3.0

    def forward(self, x):
        h = self.body(x) * self.scale
        return [head([h]) for head in self.heads]


def test_a_custom_module_finds_its_parameters_by_attribute():
    model = Scaled()
    names = [name for name, _ in model.named_parameters()]
    assert names[0] == "scale"
    assert names[1:4] == ["body.layers.0.neurons.0.w0", "body.layers.0.neurons.0.w1",
                          "body.layers.0.neurons.0.b"]
    assert names[-4:] == ["heads.0.w0", "heads.0.b", "heads.1.w0", "heads.1.b"]
    assert len(names) == 1 + 9 + 4
    assert [name for name, _ in model.named_children()] == ["body", "heads.0", "heads.1"]
    body = model.body([1.0, 2.0]).data
    Value.sum(model([1.0, 2.0])).backward()
    # d/d scale of sum_k (w_k * body * scale + b_k) is body * (w_0 + w_1).
    heads = model.heads[0].w[0].data + model.heads[1].w[0].data
    assert model.scale.grad == pytest.approx(body * heads)
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_a_module_without_forward_says_so():
    class Empty(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match="Empty does not define forward"):
        Empty()([1.0])


def test_train_and_eval_reach_every_submodule():
    model = nn.MLP(2, [4, 4, 1], dropout=0.5, seed=0)
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    with pytest.raises(TypeError, match="mode must be True or False, got 'no'"):
        model.train("no")


# --- dropout -------------------------------------------------------------------------

def test_dropout_scales_kept_units_and_is_identity_in_eval_mode():
    drop = nn.Dropout(0.25, seed=0)
    x = [Value(float(i + 1)) for i in range(2000)]
    out = drop(x)
    kept = [(o.data, v.data) for o, v in zip(out, x) if o.data != 0.0]
    assert all(o == pytest.approx(v / 0.75) for o, v in kept)
    assert 1 - len(kept) / len(x) == pytest.approx(0.25, abs=0.03)
    drop.eval()
    assert all(o is v for o, v in zip(drop(x), x))


def test_dropout_is_reproducible_with_a_seed_and_passes_gradients():
    x = [Value(1.0) for _ in range(50)]
    first = [o.data for o in nn.Dropout(0.5, seed=3)(x)]
    assert first == [o.data for o in nn.Dropout(0.5, seed=3)(x)]
    assert first != [o.data for o in nn.Dropout(0.5, seed=4)(x)]
    out = nn.Dropout(0.5, seed=3)(x)
    Value.sum(out).backward()
    assert [v.grad for v in x] == first  # d(mask * x)/dx = mask, which equals out for x = 1


def test_dropout_edge_probabilities_and_errors():
    x = [Value(1.0), Value(2.0)]
    assert [o.data for o in nn.Dropout(0.0)(x)] == [1.0, 2.0]
    assert [o.data for o in nn.Dropout(1.0)(x)] == [0.0, 0.0]
    assert nn.Dropout(0.0)(Value(3.0)).data == 3.0
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\], got -0.1"):
        nn.Dropout(-0.1)
    with pytest.raises(TypeError, match="p must be a number"):
        nn.Dropout("half")
    with pytest.raises(TypeError, match="seed must be"):
        nn.Dropout(0.5, seed=1.5)


def test_mlp_dropout_only_in_training_mode_and_keeps_the_weights():
    plain = nn.MLP(2, [32, 32, 1], seed=9)
    dropped = nn.MLP(2, [32, 32, 1], seed=9, dropout=0.5)
    assert plain.state_dict() == dropped.state_dict()
    x = [0.3, -0.8]
    training = {dropped(x).data for _ in range(5)}
    assert len(training) > 1
    dropped.eval()
    assert dropped(x).data == plain(x).data


def test_mlp_dropout_masks_repeat_with_the_seed():
    a = nn.MLP(2, [16, 1], seed=9, dropout=0.5)
    b = nn.MLP(2, [16, 1], seed=9, dropout=0.5)
    x = [0.3, -0.8]
    assert [a(x).data for _ in range(4)] == [b(x).data for _ in range(4)]


# --- predict --------------------------------------------------------------------------

def test_predict_thresholds_one_output_and_takes_argmax_of_several():
    neuron = nn.Neuron(1, "linear")
    set_weights(neuron, [1.0], -0.5)  # score = x - 0.5
    X = [[0.0], [0.4], [0.6], [2.0]]
    assert neuron.predict(X) == [-1, -1, 1, 1]
    assert neuron.predict(X, labels=(0, 1)) == [0, 0, 1, 1]
    assert neuron.predict(X, threshold=1.0) == [-1, -1, -1, 1]

    layer = nn.Layer(1, 3, "linear")
    for n, (w, b) in zip(layer.neurons, [(1.0, 0.0), (-1.0, 0.0), (0.0, 0.5)]):
        set_weights(n, [w], b)
    # scores x, -x, 0.5
    assert layer.predict([[2.0], [-2.0], [0.1]]) == [0, 1, 2]


def test_predict_runs_in_eval_mode_without_a_graph_and_restores_the_mode():
    model = nn.MLP(2, [8, 1], seed=1, dropout=0.9)
    model.eval()
    expected = [1 if model(x).data > 0 else -1 for x in batch(10)[0]]
    model.train()
    assert model.predict(batch(10)[0]) == expected
    assert all(m.training for m in model.modules())
    with no_grad():
        assert model.predict(batch(10)[0]) == expected
    with pytest.raises(ValueError, match="pair"):
        model.predict([[0.0, 0.0]], labels=(0, 1, 2))


# --- state, save and load ---------------------------------------------------------------

def test_state_dict_round_trip():
    a = nn.MLP(2, [4, 1], seed=1)
    b = nn.MLP(2, [4, 1], seed=2)
    b.load_state_dict(a.state_dict())
    assert b.state_dict() == a.state_dict()
    assert list(a.state_dict())[:3] == ["layers.0.neurons.0.w0", "layers.0.neurons.0.w1",
                                        "layers.0.neurons.0.b"]


def test_save_writes_readable_json_and_load_restores(tmp_path):
    model = nn.MLP(2, [4, 3, 1], activation="tanh", dropout=0.2, seed=1)
    for i, p in enumerate(model.parameters()):
        p.data += 0.001 * i  # trained-looking biases too
    path = tmp_path / "model.json"
    model.save(path)
    document = json.loads(path.read_text())
    assert document["format"] == "valuegrad.nn" and document["version"] == 1
    assert document["class"] == "MLP"
    assert document["config"] == {"nin": 2, "nouts": [4, 3, 1], "activation": "tanh",
                                  "last_activation": None, "dropout": 0.2}
    assert document["state"]["layers.2.neurons.0.b"] == model.layers[2].neurons[0].b.data
    assert "\n" in path.read_text()  # one entry per line, for people

    state = random.getstate()
    loaded = nn.load(path)
    assert random.getstate() == state
    assert isinstance(loaded, nn.MLP)
    assert loaded.state_dict() == model.state_dict()
    model.eval()
    loaded.eval()
    assert loaded([0.2, -0.4]).data == model([0.2, -0.4]).data

    other = nn.MLP(2, [4, 3, 1], activation="tanh", dropout=0.2, seed=5)
    other.load(path)
    assert other.state_dict() == model.state_dict()


def test_load_of_other_module_classes(tmp_path):
    for module in (nn.Neuron(3, "tanh", seed=0), nn.Layer(2, 2, seed=0), nn.Dropout(0.3)):
        path = tmp_path / "m.json"
        module.save(path)
        loaded = nn.load(path)
        assert type(loaded) is type(module)
        assert loaded.config() == module.config()
        assert loaded.state_dict() == module.state_dict()


def corrupt_documents(path):
    good = json.loads(path.read_text())
    text = path.read_text()

    def with_state(change):
        # Every value changed, then one entry spoiled: a load that assigned as it
        # checked would leave the model half-changed.
        doc = json.loads(text)
        doc["state"] = {k: v + 1.0 for k, v in doc["state"].items()}
        change(doc["state"])
        return json.dumps(doc)

    def edited(**fields):
        doc = json.loads(text)
        doc.update(fields)
        return json.dumps(doc)

    first = next(iter(good["state"]))
    last = list(good["state"])[-1]
    return {
        "truncated": (text[: len(text) // 2], "not valid JSON"),
        "empty": ("", "not valid JSON"),
        "a list": ("[1, 2]", "not a saved model"),
        "wrong format": (edited(format="other"), "not a saved model"),
        "wrong version": (edited(version=2), "unsupported version 2"),
        "wrong class": (edited(**{"class": "Layer"}), "holds a Layer, not a MLP"),
        "wrong shape": (edited(config={**good["config"], "nouts": [5, 1]}), "config"),
        "state not an object": (edited(state=[1.0]), "'state' must be a JSON object"),
        "missing key": (with_state(lambda s: s.pop(first)), "missing keys"),
        "extra key": (with_state(lambda s: s.update({"layers.9.neurons.0.b": 0.0})),
                      "unexpected keys"),
        "renamed key": (with_state(lambda s: s.update({"w": s.pop(first)})), "unexpected keys"),
        "string value": (with_state(lambda s: s.update({last: "0.5"})),
                         f"'{last}' must be a number"),
        "null value": (with_state(lambda s: s.update({last: None})), "must be a number"),
        "bool value": (with_state(lambda s: s.update({last: True})), "must be a number"),
        "infinite value": (with_state(lambda s: s.update({last: 1e400})), "must be finite"),
    }


def test_bad_files_are_rejected_and_leave_the_model_unchanged(tmp_path):
    model = nn.MLP(2, [4, 1], seed=1)
    path = tmp_path / "model.json"
    model.save(path)
    before = model.state_dict()
    for case, (text, message) in corrupt_documents(path).items():
        bad = tmp_path / f"{case.replace(' ', '_')}.json"
        bad.write_text(text)
        with pytest.raises(ValueError, match=message) as error:
            model.load(bad)
        assert str(bad) in str(error.value), case
        assert model.state_dict() == before, case
        with pytest.raises(ValueError):
            nn.load(bad)


def test_nan_value_is_rejected(tmp_path):
    model = nn.MLP(2, [2, 1], seed=1)
    before = model.state_dict()
    state = {name: value + 1.0 for name, value in before.items()}
    state["layers.1.neurons.0.b"] = math.nan  # the last one
    with pytest.raises(ValueError, match="'layers.1.neurons.0.b' must be finite"):
        model.load_state_dict(state)
    assert model.state_dict() == before
    path = tmp_path / "nan.json"
    path.write_text(json.dumps({"format": "valuegrad.nn", "version": 1, "class": "MLP",
                                "config": model.config(), "state": state}))
    with pytest.raises(ValueError, match="must be finite"):
        model.load(path)
    assert model.state_dict() == before


def test_load_state_dict_errors_name_the_problem():
    model = nn.MLP(2, [2, 1], seed=1)
    before = model.state_dict()
    with pytest.raises(TypeError, match="must be a mapping"):
        model.load_state_dict([1.0, 2.0])
    wrong_shape = nn.MLP(2, [3, 1], seed=1).state_dict()
    with pytest.raises(ValueError, match=r"missing keys.*unexpected keys"):
        nn.MLP(2, [2, 2], seed=1).load_state_dict(wrong_shape)
    with pytest.raises(ValueError, match="unexpected keys"):
        model.load_state_dict(wrong_shape)
    assert model.state_dict() == before


def test_save_refuses_non_finite_parameters_and_load_refuses_binary_files(tmp_path):
    model = nn.MLP(2, [2, 1], seed=1)
    model.layers[0].neurons[1].b.data = math.inf
    with pytest.raises(ValueError, match="'layers.0.neurons.1.b' is inf"):
        model.save(tmp_path / "inf.json")
    assert not list(tmp_path.iterdir())
    path = tmp_path / "binary.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="binary.json: not valid JSON"):
        nn.load(path)


def test_missing_file_and_unknown_class(tmp_path):
    with pytest.raises(FileNotFoundError):
        nn.load(tmp_path / "nothing.json")
    path = tmp_path / "odd.json"
    path.write_text(json.dumps({"format": "valuegrad.nn", "version": 1, "class": "Transformer",
                                "config": {}, "state": {}}))
    with pytest.raises(ValueError, match="unknown module class 'Transformer'"):
        nn.load(path)
    path.write_text(json.dumps({"format": "valuegrad.nn", "version": 1, "class": "MLP",
                                "config": {"nin": 2}, "state": {}}))
    with pytest.raises(ValueError, match="cannot build MLP"):
        nn.load(path)


def test_a_user_class_named_like_nns_cannot_stand_in_for_it_when_loading(tmp_path):
    class MLP(nn.Module):  # same name as nn.MLP, defined elsewhere
        def forward(self, x):
            return x

        def config(self):
            return {}

    path = tmp_path / "model.json"
    nn.MLP(2, [3, 1], seed=0).save(path)
    assert type(nn.load(path)) is nn.MLP
    own = MLP()
    own.save(tmp_path / "own.json")
    assert type(nn.load(tmp_path / "own.json")) is MLP


# --- issue 17: a replaced layer, tied weights -------------------------------------

def test_forward_follows_a_replaced_layer_and_saving_keeps_it(tmp_path):
    model = nn.MLP(2, [4, 1], seed=0)
    model.layers[1] = nn.Layer(4, 1, "linear", seed=5)
    x = [0.3, -0.7]
    by_hand = model.layers[1](model.layers[0](x))
    assert model(x).data == by_hand.data
    assert model.layers[1].neurons[0].w[0] in model.parameters()
    model.save(tmp_path / "m.json")
    assert nn.load(tmp_path / "m.json")(x).data == by_hand.data


@pytest.mark.parametrize("replacement", [
    lambda: nn.Layer(4, 1),                 # relu where the MLP's last layer is linear
    lambda: nn.Layer(4, 2, "linear"),       # another width
    lambda: nn.Dropout(0.5),
], ids=["activation", "width", "not a Layer"])
def test_a_layer_of_another_shape_is_refused_when_run_or_saved(replacement, tmp_path):
    model = nn.MLP(2, [4, 1], seed=0)
    model.layers[1] = replacement()
    with pytest.raises(ValueError, match=r"layers\[1\]"):
        model([0.3, -0.7])
    with pytest.raises(ValueError, match=r"layers\[1\]"):
        model.save(tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()


class Tied(nn.Module):
    def __init__(self) -> None:
        self.first = nn.Layer(2, 2, "tanh", seed=0)
        self.second = nn.Layer(2, 1, "linear", seed=1)
        self.second.neurons[0].w[1] = self.first.neurons[0].w[0]   # one weight, two places
        self.again = self.first                                     # one layer, two names

    def forward(self, x):
        return self.second(self.first(x))


def test_a_shared_parameter_is_listed_once_under_its_first_name():
    model = Tied()
    names = [name for name, _ in model.named_parameters()]
    assert len(model.parameters()) == 6 + 3 - 1
    assert len(set(map(id, model.parameters()))) == len(model.parameters())
    assert "first.neurons.0.w0" in names and "second.neurons.0.w1" not in names
    assert not any(name.startswith("again.") for name in names)
    assert list(model.state_dict()) == names
    assert sum(m is model.first for m in model.modules()) == 1


def test_optimizers_train_a_model_with_tied_weights():
    model = Tied()
    shared = model.first.neurons[0].w[0]
    optimizer = nn.optim.SGD(model.parameters(), lr=0.5)
    optimizer.zero_grad()
    model([0.2, -0.4]).backward()
    before, gradient = shared.data, shared.grad
    assert gradient != 0.0
    optimizer.step()
    assert shared.data == before - 0.5 * gradient      # moved once, by the summed gradient
    with pytest.raises(ValueError, match="the same parameter as params.0.*list it once"):
        nn.optim.Adam([shared, shared])
