"""Tests for gradkit.models: TwoLayerNet and FullyConnectedNet."""

import numpy as np
import pytest

import gradkit.models.two_layer_net
from gradkit.gradcheck import GRAD_REL_TOL, eval_numerical_gradient, rel_error
from gradkit.models import FullyConnectedNet, TwoLayerNet, two_layer_net_loss
from helpers import assert_inputs_unchanged

# Exact float64 arithmetic on a handful of numbers: only rounding separates
# the hand-computed value from the code's.
HAND_TOL = 1e-12
# With weights ~1e-3·N(0, 1) every score is ~1e-5, so the softmax is uniform to
# ~1e-4 and the initial loss is log C to within that.
INITIAL_LOSS_TOL = 1e-3
# A gradient that is zero analytically comes out of a centred difference as
# rounding noise of about eps·|f| / h ≈ 1e-16 / 1e-5 = 1e-11; 1e-8 leaves room.
ZERO_GRAD_ATOL = 1e-8
# float32 rounding relative to float64 on the same parameters (eps32 ≈ 1.2e-7,
# amplified by a few layers of sums).
FLOAT32_RTOL = 1e-4
# Sample std of n = 120 000 N(0, s²) draws is within ~3/√(2n) ≈ 0.6% of s;
# allow 2% so the check never flakes yet still separates He (√(2/n)) from
# weight_scale = 1e-2.
INIT_STD_RTOL = 0.02


def numeric_grads_match(model, X, y, skip_zero=()):
    """Check every parameter's analytic gradient against centred differences."""
    loss, grads = model.loss(X, y)
    assert set(grads) == set(model.params)
    for name, w in model.params.items():
        numeric = eval_numerical_gradient(lambda _: model.loss(X, y)[0], w)
        assert grads[name].shape == w.shape
        if name in skip_zero:
            assert np.max(np.abs(numeric)) < ZERO_GRAD_ATOL, name
            assert np.max(np.abs(grads[name])) < ZERO_GRAD_ATOL, name
            continue
        err = rel_error(numeric, grads[name])
        assert err < GRAD_REL_TOL, f"{name}: relative error {err:.2e}"
    return loss


# --------------------------------------------------------------------------- TwoLayerNet


def hand_net(reg):
    model = TwoLayerNet(2, 2, 2, reg=reg)
    model.params = {
        "W1": np.array([[1.0, -1.0], [0.0, 2.0]]),
        "b1": np.array([0.0, 0.5]),
        "W2": np.eye(2),
        "b2": np.array([0.0, -0.5]),
    }
    return model


def test_two_layer_hand_computed():
    # x = [1, 1]: hidden = relu([1, 1 + 0.5]) = [1, 1.5]; scores = [1, 1.5 - 0.5] = [1, 1].
    model = hand_net(reg=0.1)
    X, y = np.array([[1.0, 1.0]]), np.array([0])
    np.testing.assert_allclose(model.loss(X), [[1.0, 1.0]], atol=HAND_TOL)
    loss, grads = model.loss(X, y)
    # log 2 from the tie, plus ½·0.1·(ΣW1² = 6, ΣW2² = 2) = 0.4; biases not regularized.
    assert abs(loss - (np.log(2) + 0.4)) < HAND_TOL
    # dscores = [0.5 − 1, 0.5]; dW2 = hᵀ·dscores + 0.1·W2; db2 = dscores.
    np.testing.assert_allclose(grads["W2"], [[-0.4, 0.5], [-0.75, 0.85]], atol=HAND_TOL)
    np.testing.assert_allclose(grads["b2"], [-0.5, 0.5], atol=HAND_TOL)
    # dh = dscores·W2ᵀ = [-0.5, 0.5], both units active: dW1 = xᵀ·dh + 0.1·W1.
    np.testing.assert_allclose(grads["W1"], [[-0.4, 0.4], [-0.5, 0.7]], atol=HAND_TOL)
    np.testing.assert_allclose(grads["b1"], [-0.5, 0.5], atol=HAND_TOL)


def test_two_layer_initial_loss_is_log_c(rng):
    C = 7
    model = TwoLayerNet(20, 30, C, weight_scale=1e-3, seed=0)
    X = rng.standard_normal((50, 20))
    loss, _ = model.loss(X, rng.integers(0, C, 50))
    assert abs(loss - np.log(C)) < INITIAL_LOSS_TOL


@pytest.mark.parametrize("reg", [0.0, 0.7])
def test_two_layer_gradients(rng, reg):
    model = TwoLayerNet(5, 6, 3, weight_scale=0.5, reg=reg, seed=1)
    X = rng.standard_normal((4, 5))
    y = np.array([0, 2, 1, 2])
    numeric_grads_match(model, X, y)


def test_two_layer_scores_shape_and_image_input(rng):
    model = TwoLayerNet(12, 4, 3, seed=2)
    X = rng.standard_normal((5, 3, 4))  # flattened per row to 12 features
    assert model.loss(X).shape == (5, 3)
    np.testing.assert_allclose(model.loss(X), model.loss(X.reshape(5, 12)))


def test_two_layer_reg_and_params_read_at_every_call(rng):
    model = TwoLayerNet(4, 5, 3, weight_scale=0.3, seed=3)
    X, y = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    base, _ = model.loss(X, y)
    model.reg = 0.5
    loss, grads = model.loss(X, y)
    penalty = 0.25 * (np.sum(model.params["W1"] ** 2) + np.sum(model.params["W2"] ** 2))
    assert abs(loss - base - penalty) < HAND_TOL
    model.params = {k: np.zeros_like(v) for k, v in model.params.items()}
    model.params["b2"] = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(model.loss(X), np.tile([1.0, 2.0, 3.0], (6, 1)))


def test_two_layer_seed_reproducible():
    a, b = TwoLayerNet(4, 5, 3, seed=7), TwoLayerNet(4, 5, 3, seed=7)
    c = TwoLayerNet(4, 5, 3, seed=8)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert not np.array_equal(a.params["W1"], c.params["W1"])
    assert not np.any(a.params["b1"]) and not np.any(a.params["b2"])


def test_two_layer_bad_inputs(rng):
    model = TwoLayerNet(4, 5, 3)
    with pytest.raises(ValueError, match=r"4 features.*\(4, 5\).*\(6, 3\)"):
        model.loss(rng.standard_normal((6, 3)))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        model.loss(rng.standard_normal((2, 4)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        model.loss(rng.standard_normal((2, 4)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="hidden_dim must be a positive integer"):
        TwoLayerNet(4, 0, 3)


def test_two_layer_inputs_unchanged(rng):
    model = TwoLayerNet(4, 5, 3, weight_scale=0.3, reg=0.1, seed=0)
    before = {k: v.copy() for k, v in model.params.items()}
    assert_inputs_unchanged(model.loss, rng.standard_normal((3, 4)), np.array([0, 1, 2]))
    assert all(np.array_equal(before[k], model.params[k]) for k in before)


def test_two_layer_net_loss_is_the_models_loss(rng):
    model = TwoLayerNet(4, 5, 3, weight_scale=0.3, reg=0.1, seed=0)
    X, y = rng.standard_normal((6, 4)), rng.integers(3, size=6)
    loss, grads = two_layer_net_loss(model.params, X, y, reg=0.1)
    want_loss, want_grads = model.loss(X, y)
    assert loss == want_loss and grads.keys() == want_grads.keys()
    assert all(np.array_equal(grads[k], want_grads[k]) for k in grads)
    assert_inputs_unchanged(two_layer_net_loss, model.params, X, y, 0.1)
    with pytest.raises(ValueError, match="y must hold the N labels"):
        two_layer_net_loss(model.params, X, None)
    with pytest.raises(ValueError, match=r"two_layer_net_loss: X must have 4 features"):
        two_layer_net_loss(model.params, X[:, :3], y)


def test_two_layer_loss_with_labels_goes_through_two_layer_net_loss(rng, monkeypatch):
    """In the student kit this module-level function is the student's: the model calls it,
    with rows flattened and labels checked, and its answer is the model's."""
    calls = []

    def spy(params, X, y, reg=0.0):
        calls.append((params, X.shape, y, reg))
        return 1.5, {}

    monkeypatch.setattr(gradkit.models.two_layer_net, "two_layer_net_loss", spy)
    model = TwoLayerNet(12, 5, 3, reg=0.2, seed=0)
    X = rng.standard_normal((2, 3, 4))
    assert model.loss(X, [0, 2]) == (1.5, {})
    ((params, shape, y, reg),) = calls
    assert params is model.params and shape == (2, 12) and reg == 0.2
    assert isinstance(y, np.ndarray) and y.tolist() == [0, 2]
    assert model.loss(X).shape == (2, 3) and len(calls) == 1  # scores alone: no loss


# --------------------------------------------------------------------- FullyConnectedNet


def small_fc(normalization=None, keep=1.0, reg=0.3, seed=0, **kw):
    return FullyConnectedNet(
        [7, 5],
        input_dim=6,
        num_classes=4,
        dropout_keep_ratio=keep,
        normalization=normalization,
        reg=reg,
        weight_scale=0.5,
        dtype=np.float64,
        seed=seed,
        **kw,
    )


@pytest.mark.parametrize("keep", [1.0, 0.6])
@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
def test_fc_gradients_depth3(rng, normalization, keep):
    model = small_fc(normalization, keep)
    # Biases, gamma and beta start at 0/1/0: perturb them so their gradients are
    # exercised generically, and so that a row that dropout zeroes entirely
    # does not sit exactly on a ReLU kink (pre-activation 0 + b = 0).
    for k in model.params:
        if k.startswith(("b", "gamma")):
            model.params[k] = model.params[k] + 0.3 * rng.standard_normal(model.params[k].shape)
    X = rng.standard_normal((6, 6))
    y = np.array([0, 1, 2, 3, 1, 2])
    # Batch norm subtracts the batch mean of each feature, so the bias just
    # before it cannot change the loss: its gradient is exactly zero.
    zero = ("b1", "b2") if normalization == "batchnorm" else ()
    numeric_grads_match(model, X, y, skip_zero=zero)


def test_fc_parameter_names_and_shapes():
    model = FullyConnectedNet([7, 5], input_dim=6, num_classes=4, normalization="layernorm")
    shapes = {k: v.shape for k, v in model.params.items()}
    assert shapes == {
        "W1": (6, 7),
        "b1": (7,),
        "gamma1": (7,),
        "beta1": (7,),
        "W2": (7, 5),
        "b2": (5,),
        "gamma2": (5,),
        "beta2": (5,),
        "W3": (5, 4),
        "b3": (4,),
    }
    assert all(v.dtype == np.float32 for v in model.params.values())
    assert model.num_layers == 3


def test_fc_initial_loss_is_log_c(rng):
    model = FullyConnectedNet(
        [30, 30], input_dim=20, num_classes=10, weight_scale=1e-3, dtype=np.float64, seed=0
    )
    loss, _ = model.loss(rng.standard_normal((40, 20)), rng.integers(0, 10, 40))
    assert abs(loss - np.log(10)) < INITIAL_LOSS_TOL


def test_fc_reg_excludes_biases_and_gamma(rng):
    model = small_fc("batchnorm", reg=0.0)
    X, y = rng.standard_normal((5, 6)), rng.integers(0, 4, 5)
    model.params["gamma1"] = model.params["gamma1"] * 3.0  # large, but must not be penalized
    base, _ = model.loss(X, y)
    model.reg = 2.0
    loss, grads = model.loss(X, y)
    penalty = 1.0 * sum(np.sum(model.params[f"W{l}"] ** 2) for l in (1, 2, 3))
    assert abs(loss - base - penalty) < 1e-10
    model.reg = 0.0
    _, grads0 = model.loss(X, y)
    np.testing.assert_allclose(grads["gamma1"], grads0["gamma1"])
    np.testing.assert_allclose(grads["W2"], grads0["W2"] + 2.0 * model.params["W2"])


def test_fc_params_replaced_after_construction(rng):
    model = small_fc()
    X = rng.standard_normal((3, 6))
    model.params = {k: np.zeros_like(v) for k, v in model.params.items()}
    model.params["b3"] = np.array([0.0, 1.0, 2.0, 3.0])
    np.testing.assert_allclose(model.loss(X), np.tile([0.0, 1.0, 2.0, 3.0], (3, 1)))


def test_fc_seeded_dropout_mask_is_fixed(rng):
    X, y = rng.standard_normal((5, 6)), rng.integers(0, 4, 5)
    model = small_fc(keep=0.5, seed=3)
    assert model.loss(X, y)[0] == model.loss(X, y)[0]
    # Fresh masks per call from an explicit generator: two calls differ, and
    # a generator with the same seed reproduces the sequence.
    a = small_fc(keep=0.5, seed=3, dropout_rng=np.random.default_rng(1))
    b = small_fc(keep=0.5, seed=3, dropout_rng=np.random.default_rng(1))
    la = [a.loss(X, y)[0] for _ in range(3)]
    assert la[0] != la[1]
    assert la == [b.loss(X, y)[0] for _ in range(3)]


def test_fc_test_mode_is_deterministic_and_uses_running_stats(rng):
    model = small_fc("batchnorm", keep=0.5, seed=None)
    X, y = rng.standard_normal((8, 6)), rng.integers(0, 4, 8)
    np.testing.assert_array_equal(model.loss(X), model.loss(X))  # no dropout, running stats
    assert not np.any(model.bn_params[0]["running_mean"])  # test mode did not update them
    model.loss(X, y)
    assert np.any(model.bn_params[0]["running_mean"])  # train mode did
    assert model.bn_params[0]["mode"] == "train"


def test_fc_no_global_rng(rng):
    before = np.random.get_state()
    model = small_fc("batchnorm", keep=0.5, seed=None)
    model.loss(rng.standard_normal((5, 6)), rng.integers(0, 4, 5))
    after = np.random.get_state()
    assert before[2:] == after[2:] and np.array_equal(before[1], after[1])


def test_fc_seed_reproducible_and_init_scheme():
    a = FullyConnectedNet([300, 400], input_dim=400, seed=5, dtype=np.float64)
    b = FullyConnectedNet([300, 400], input_dim=400, seed=5, dtype=np.float64)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert abs(a.params["W1"].std() / 1e-2 - 1) < INIT_STD_RTOL
    he = FullyConnectedNet([300, 400], input_dim=400, seed=5, init="he")
    assert abs(he.params["W1"].std() / np.sqrt(2 / 400) - 1) < INIT_STD_RTOL
    assert he.params["W1"].dtype == np.float32


def test_fc_default_init_is_assignment_03s_small_random_and_bias_init(monkeypatch):
    """In the student kit these are the student's own: the model must call them."""
    import gradkit.models.fc_net as fc_net
    from gradkit.init import bias_init, small_random_init

    calls = []

    def spy(name, func):
        def recorded(*args, **kwargs):
            calls.append((name, args[:2], args[3:]))
            return func(*args, **kwargs)

        return recorded

    monkeypatch.setattr(fc_net, "small_random_init", spy("weights", small_random_init))
    monkeypatch.setattr(fc_net, "bias_init", spy("biases", bias_init))
    model = FullyConnectedNet([5], input_dim=3, num_classes=2, weight_scale=0.3, seed=0)
    assert calls == [
        ("weights", (3, 5), (0.3,)),
        ("biases", (5,), ()),
        ("weights", (5, 2), (0.3,)),
        ("biases", (2,), ()),
    ]
    expected = 0.3 * np.random.default_rng(0).standard_normal((3, 5))
    assert np.array_equal(model.params["W1"], expected.astype(np.float32))


def test_fc_float32_matches_float64(rng):
    m64 = small_fc("batchnorm")
    m32 = FullyConnectedNet(
        [7, 5], input_dim=6, num_classes=4, normalization="batchnorm", reg=0.3, dtype=np.float32
    )
    m32.params = {k: v.astype(np.float32) for k, v in m64.params.items()}
    X, y = rng.standard_normal((5, 6)), rng.integers(0, 4, 5)
    l64, g64 = m64.loss(X, y)
    l32, g32 = m32.loss(X, y)
    assert m32.loss(X).dtype == np.float32 and g32["W1"].dtype == np.float32
    assert abs(l32 - l64) < FLOAT32_RTOL * abs(l64)
    np.testing.assert_allclose(g32["W3"], g64["W3"], rtol=FLOAT32_RTOL, atol=FLOAT32_RTOL)


def test_fc_single_layer_is_softmax_classifier(rng):
    model = FullyConnectedNet([], input_dim=6, num_classes=4, dtype=np.float64, seed=0)
    X = rng.standard_normal((3, 6))
    np.testing.assert_allclose(model.loss(X), X @ model.params["W1"])


def test_fc_inputs_unchanged(rng):
    model = small_fc("layernorm", keep=0.7, seed=0)
    assert_inputs_unchanged(model.loss, rng.standard_normal((4, 6)), np.array([0, 1, 2, 3]))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"normalization": "groupnorm"}, r"normalization must be one of .*'groupnorm'"),
        ({"dropout_keep_ratio": 0.0}, r"dropout_keep_ratio must lie in \(0, 1\]; got 0.0"),
        ({"dropout_keep_ratio": 1.5}, r"dropout_keep_ratio must lie in \(0, 1\]; got 1.5"),
        ({"hidden_dims": [5, 0]}, r"hidden_dims\[1\] must be a positive integer"),
        ({"hidden_dims": 5}, "hidden_dims must be a list"),
        ({"dtype": np.int32}, "dtype must be a floating dtype"),
        ({"init": "glorious"}, "init must name a gradkit.init scheme"),
    ],
)
def test_fc_bad_constructor_arguments(kwargs, message):
    args = {"hidden_dims": [5], "input_dim": 6, "num_classes": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        FullyConnectedNet(**args)


def test_fc_wrong_feature_count_names_shapes(rng):
    model = small_fc()
    with pytest.raises(ValueError, match=r"6 features.*\(6, 7\).*\(4, 5\)"):
        model.loss(rng.standard_normal((4, 5)))
