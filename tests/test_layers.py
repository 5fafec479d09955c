"""Tests for gradkit.layers: affine, maxout and the affine-ReLU sandwich.

The element-wise activations it re-exports are tested in test_activations.py.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradkit.layers import (
    affine_backward,
    affine_forward,
    affine_relu_backward,
    affine_relu_forward,
    maxout_backward,
    maxout_forward,
    relu_forward,
)
from helpers import assert_inputs_unchanged, check_backward

#: Hand-computed values are small integers and halves, exact in float64; the
#: tolerance only absorbs the order of summation in a matrix product.
HAND_TOL = 1e-12
#: Two ways of computing the same affine map (different summation order) agree
#: to ~1e-15 for values of size ~10; 1e-10 leaves room without hiding a bug.
SAME_MAP_TOL = 1e-10

X = np.array([[1.0, 2.0], [3.0, 4.0]])
W = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]])

LAYERS = {  # name -> (forward, backward, shapes of x, w, b)
    "affine": (affine_forward, affine_backward, ((3, 2, 3), (6, 4), (4,))),
    "maxout": (maxout_forward, maxout_backward, ((3, 2, 2), (3, 4, 2), (3, 2))),
    "affine_relu": (affine_relu_forward, affine_relu_backward, ((3, 2, 3), (6, 4), (4,))),
}


def _inputs(name, rng, dtype=np.float64):
    shapes = LAYERS[name][2]
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


# ---------------------------------------------------------------- hand cases


def test_affine_hand_case():
    out, cache = affine_forward(X, W, np.array([0.5, -1.0, 0.0]))
    np.testing.assert_allclose(out, [[1.5, 1.0, 0.0], [3.5, 3.0, 2.0]], atol=HAND_TOL)
    dx, dw, db = affine_backward(np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]), cache)
    np.testing.assert_allclose(dx, [[1.0, 0.0], [2.0, -1.0]], atol=HAND_TOL)  # rows of W
    np.testing.assert_allclose(dw, [[1.0, 0.0, 3.0], [2.0, 0.0, 4.0]], atol=HAND_TOL)
    np.testing.assert_allclose(db, [1.0, 0.0, 1.0], atol=HAND_TOL)


def test_affine_flattens_each_row_and_returns_dx_in_x_shape():
    x = X.reshape(2, 1, 2)
    out, cache = affine_forward(x, W, np.zeros(3))
    np.testing.assert_allclose(out, X @ W, atol=HAND_TOL)
    dx, _, _ = affine_backward(np.ones((2, 3)), cache)
    assert dx.shape == (2, 1, 2)


def test_affine_relu_hand_case():
    out, cache = affine_relu_forward(X, W, np.array([0.5, -1.0, -1.0]))
    # pre-activations [[1.5, 1, -1], [3.5, 3, 1]]
    np.testing.assert_allclose(out, [[1.5, 1.0, 0.0], [3.5, 3.0, 1.0]], atol=HAND_TOL)
    dx, dw, db = affine_relu_backward(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), cache)
    # the ReLU blocks the 3 (its unit was at −1): da = [[1, 2, 0], [4, 5, 6]]
    np.testing.assert_allclose(dx, [[1.0, 2.0], [16.0, -1.0]], atol=HAND_TOL)
    np.testing.assert_allclose(dw, [[13.0, 17.0, 18.0], [18.0, 24.0, 24.0]], atol=HAND_TOL)
    np.testing.assert_allclose(db, [5.0, 7.0, 6.0], atol=HAND_TOL)


def test_maxout_hand_case_absolute_value():
    # pieces +x and −x: maxout computes |x| and routes dout to the winning piece.
    w = np.array([[[1.0]], [[-1.0]]])  # (k=2, D=1, M=1)
    b = np.zeros((2, 1))
    out, cache = maxout_forward(np.array([[-3.0], [2.0]]), w, b)
    np.testing.assert_allclose(out, [[3.0], [2.0]], atol=HAND_TOL)
    dx, dw, db = maxout_backward(np.array([[5.0], [7.0]]), cache)
    np.testing.assert_allclose(dx, [[-5.0], [7.0]], atol=HAND_TOL)
    np.testing.assert_allclose(dw, [[[14.0]], [[-15.0]]], atol=HAND_TOL)  # 2·7 and (−3)·5
    np.testing.assert_allclose(db, [[7.0], [5.0]], atol=HAND_TOL)


def test_maxout_tie_sends_gradient_to_first_piece():
    w = np.zeros((2, 1, 1))
    _, cache = maxout_forward(np.array([[1.0]]), w, np.zeros((2, 1)))
    _, _, db = maxout_backward(np.array([[3.0]]), cache)
    np.testing.assert_array_equal(db, [[3.0], [0.0]])


# ------------------------------------------------------------ gradient checks


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_backward_matches_numeric_gradient(name, rng):
    forward, backward, _ = LAYERS[name]
    x, w, b = _inputs(name, rng)
    check_backward(forward, backward, {"x": x, "w": w, "b": b}, rng)


# ------------------------------------------------------------------ properties


@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(1, 5), st.integers(1, 4))
def test_maxout_special_cases(seed, n, d, m):
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((n, d)), rng.standard_normal((d, m)), rng.standard_normal(m)
    # one piece is just the affine layer
    np.testing.assert_allclose(
        maxout_forward(x, w[None], b[None])[0], affine_forward(x, w, b)[0], atol=SAME_MAP_TOL
    )
    # a second, all-zero piece turns it into ReLU(affine)
    w2 = np.stack([w, np.zeros_like(w)])
    b2 = np.stack([b, np.zeros_like(b)])
    np.testing.assert_allclose(
        maxout_forward(x, w2, b2)[0], affine_relu_forward(x, w, b)[0], atol=SAME_MAP_TOL
    )


@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3))
def test_affine_equals_matmul_on_flattened_rows(seed, n, d1, d2):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d1, d2))
    w, b = rng.standard_normal((d1 * d2, 3)), rng.standard_normal(3)
    out, _ = affine_forward(x, w, b)
    np.testing.assert_allclose(out, x.reshape(n, -1) @ w + b, atol=SAME_MAP_TOL)
    assert np.all(affine_relu_forward(x, w, b)[0] == relu_forward(out)[0])


# ------------------------------------------------------------ dtype, mutation


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_float32_in_float32_out(name, rng):
    forward, backward, _ = LAYERS[name]
    out, cache = forward(*_inputs(name, rng, np.float32))
    grads = backward(rng.standard_normal(out.shape).astype(np.float32), cache)
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_inputs_and_cache_unchanged(name, rng):
    forward, backward, _ = LAYERS[name]
    out, cache = assert_inputs_unchanged(forward, *_inputs(name, rng))
    assert_inputs_unchanged(backward, rng.standard_normal(out.shape), cache)


def test_empty_batch():
    out, cache = affine_forward(np.zeros((0, 2, 3)), np.ones((6, 4)), np.zeros(4))
    assert out.shape == (0, 4)
    dx, dw, db = affine_backward(np.zeros((0, 4)), cache)
    assert dx.shape == (0, 2, 3) and np.all(dw == 0) and np.all(db == 0)


# -------------------------------------------------------------------- errors


def test_affine_rejects_mismatched_w():
    with pytest.raises(
        ValueError,
        match=r"affine_forward: w must have shape \(12, \*\) to match x with 12 features "
        r"per row; got \(10, 5\)",
    ):
        affine_forward(np.zeros((2, 3, 4)), np.zeros((10, 5)), np.zeros(5))


def test_affine_rejects_bad_b_x_and_w_rank():
    with pytest.raises(
        ValueError,
        match=r"b must have shape \(5,\) to match w with 5 outputs; "
        r"got \(4,\)",
    ):
        affine_forward(np.zeros((2, 12)), np.zeros((12, 5)), np.zeros(4))
    with pytest.raises(ValueError, match=r"x must have shape \(N, d1, \.\.\., dk\).*got \(5,\)"):
        affine_forward(np.zeros(5), np.zeros((5, 2)), np.zeros(2))
    with pytest.raises(ValueError, match=r"w must be 2-D; got shape \(12,\)"):
        affine_forward(np.zeros((2, 12)), np.zeros(12), np.zeros(1))


def test_affine_relu_names_itself_in_shape_errors():
    with pytest.raises(ValueError, match=r"^affine_relu_forward: x must have shape \(N, d1"):
        affine_relu_forward(np.zeros(5), np.zeros((5, 2)), np.zeros(2))
    with pytest.raises(
        ValueError, match=r"^affine_relu_forward: w must have shape \(12, \*\) to match x"
    ):
        affine_relu_forward(np.zeros((2, 3, 4)), np.zeros((10, 5)), np.zeros(5))
    with pytest.raises(ValueError, match=r"^affine_relu_forward: w must be 2-D"):
        affine_relu_forward(np.zeros((2, 12)), np.zeros(12), np.zeros(1))


def test_maxout_rejects_bad_shapes():
    x = np.zeros((2, 3, 4))
    with pytest.raises(ValueError, match=r"w must have shape \(k, 12, M\).*got \(12, 5\)"):
        maxout_forward(x, np.zeros((12, 5)), np.zeros((1, 5)))
    with pytest.raises(ValueError, match=r"w must have shape \(\*, 12, \*\).*got \(3, 10, 5\)"):
        maxout_forward(x, np.zeros((3, 10, 5)), np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"b must have shape \(3, 5\).*got \(5,\)"):
        maxout_forward(x, np.zeros((3, 12, 5)), np.zeros(5))


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_backward_rejects_dout_of_wrong_shape(name, rng):
    forward, backward, _ = LAYERS[name]
    out, cache = forward(*_inputs(name, rng))
    n, m = out.shape
    expected = rf"{name}_backward: dout must have shape \({n}, {m}\).*got \({m}, {n}\)"
    with pytest.raises(ValueError, match=expected):
        backward(np.zeros((m, n)), cache)
