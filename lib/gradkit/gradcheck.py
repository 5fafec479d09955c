"""Numerical gradients and gradient checks.

Taught in assignment 01 (the numeric gradient is graded there) and used by
every later assignment to verify backward passes.

The centred difference ``(f(x + h) - f(x - h)) / 2h`` has error O(h²), so in
float64 with ``h = 1e-5`` a correct analytic gradient typically agrees to a
relative error below 1e-7. Compare with :func:`rel_error`.

The coordinate-wise functions perturb ``x`` *in place*, one entry at a time,
and restore every entry exactly before returning, so ``f`` may either use its
argument or read the same array through a closure (as in
``lambda _: model.loss(X, y)[0]`` with ``x = model.params['W1']``). On return
``x`` holds exactly the values it held on entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from ._validation import as_array, check_same_shape, get_rng

__all__ = [
    "rel_error",
    "eval_numerical_gradient",
    "eval_numerical_gradient_array",
    "grad_check_sparse",
    "directional_grad_check",
    "numeric_backward",
    "DEFAULT_H",
    "GRAD_REL_TOL",
]

#: Step of the centred difference. In float64 the truncation error (∝ h²) and
#: the rounding error (∝ eps/h) balance near h ≈ 1e-5.
DEFAULT_H = 1e-5

#: Relative error below which an analytic float64 gradient is accepted. A
#: correct gradient is usually < 1e-8; kinks (ReLU, max, hinge) hit by the
#: ±h step can push single entries to ~1e-6; real bugs give > 1e-2.
GRAD_REL_TOL = 1e-5


def rel_error(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Largest element-wise relative error ``|a − b| / max(1e-8, |a| + |b|)``.

    Shapes: a, b any (same) shape -> float.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(
            f"rel_error: a and b must have the same shape; got {a.shape} and {b.shape}"
        )
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def _writable(x: npt.ArrayLike, where: str) -> np.ndarray:
    x = as_array("x", x, where)
    if not isinstance(x, np.ndarray) or not x.flags.writeable:
        x = np.array(x, dtype=np.float64)
    return x


def _centred_difference(
    f: Callable[[np.ndarray], float], x: np.ndarray, ix: tuple[int, ...], h: float
) -> float:
    """(f(x + h·e_ix) − f(x − h·e_ix)) / 2h, perturbing x in place and restoring it exactly."""
    old = x[ix].copy()
    try:
        x[ix] = old + h
        fxph = float(f(x))
        x[ix] = old - h
        fxmh = float(f(x))
    finally:
        x[ix] = old
    return (fxph - fxmh) / (2 * h)


def eval_numerical_gradient(
    f: Callable[[np.ndarray], float],
    x: npt.ArrayLike,
    h: float = DEFAULT_H,
    verbose: bool = False,
) -> np.ndarray:
    """Centred-difference gradient of a scalar function ``f`` at ``x``.

    ``grad[i] = (f(x + h·e_i) − f(x − h·e_i)) / 2h`` — 2·x.size evaluations.

    Shapes: x (any) -> grad (same as x).
    """
    x = _writable(x, "eval_numerical_gradient")
    grad = np.zeros(x.shape, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        ix = it.multi_index
        grad[ix] = _centred_difference(f, x, ix, h)
        if verbose:
            print(ix, grad[ix])
    return grad


def eval_numerical_gradient_array(
    f: Callable[[np.ndarray], npt.ArrayLike],
    x: npt.ArrayLike,
    df: npt.ArrayLike,
    h: float = DEFAULT_H,
) -> np.ndarray:
    """Numeric gradient of ``sum(f(x) * df)`` for an array-valued ``f``.

    This is what a backward pass computes: given the upstream gradient ``df``
    (same shape as ``f(x)``), ``grad[i] = Σ_k df_k ∂f_k/∂x_i``.

    Shapes: x (any), df (shape of f(x)) -> grad (same as x).
    """
    x = _writable(x, "eval_numerical_gradient_array")
    df = np.asarray(df, dtype=np.float64)
    out_shape = np.shape(f(x))
    if out_shape != df.shape:
        raise ValueError(
            f"eval_numerical_gradient_array: df must have the shape of f(x) {out_shape}; "
            f"got {df.shape}"
        )

    def weighted(z: np.ndarray) -> float:
        return float(np.sum(np.asarray(f(z), dtype=np.float64) * df))

    # The same centred difference, of the scalar Σ df·f(x): built on
    # eval_numerical_gradient, so a student kit of assignment 01 runs it on the
    # student's own eval_numerical_gradient.
    return eval_numerical_gradient(weighted, x, h)


def numeric_backward(
    forward: Callable[..., npt.ArrayLike],
    inputs: Mapping[str, npt.ArrayLike],
    dout: npt.ArrayLike,
    wrt: Iterable[str] | None = None,
    h: float = DEFAULT_H,
    batch: Callable[[list[dict[str, np.ndarray]]], Iterable[npt.ArrayLike]] | None = None,
    chunk: int = 512,
) -> dict[str, np.ndarray]:
    """What a backward pass must return, by centred differences of the forward pass.

    For each name ``k`` in ``wrt`` (default: every input), the numeric
    gradient of ``sum(forward(**inputs) * dout)`` with respect to
    ``inputs[k]``: ``grad[i] = Σ_j dout_j (f_j(x + h·e_i) − f_j(x − h·e_i)) / 2h``.
    Use a random ``dout``: an all-ones upstream gradient hides errors that
    cancel in a sum.

    ``forward(**inputs)`` returns the output array. With ``batch`` given,
    the perturbed inputs are evaluated through it instead, ``chunk`` at a
    time: ``batch([inputs_1, inputs_2, ...]) -> [out_1, out_2, ...]`` (the
    autograder uses it to send many evaluations in one round trip). Inputs
    are never modified: each perturbation is a new array.

    Shapes: inputs {name: array}, dout (shape of the output) -> {name: array of that input's shape}.
    """
    where = "numeric_backward"
    base = {k: np.asarray(v) for k, v in inputs.items()}
    names = list(base) if wrt is None else list(wrt)
    for k in names:
        if k not in base:
            raise ValueError(f"{where}: wrt names {k!r}, which is not an input ({sorted(base)})")
    dout = np.asarray(dout, dtype=np.float64)
    evaluate = batch or (lambda many: [forward(**args) for args in many])

    def perturbations() -> Iterator[dict[str, np.ndarray]]:
        for k in names:
            x = base[k].astype(np.float64)
            for ix in np.ndindex(x.shape):
                for step in (h, -h):
                    moved = x.copy()
                    moved[ix] += step
                    yield {**base, k: moved}

    values: list[float] = []
    pending: list[dict[str, np.ndarray]] = []

    def flush() -> None:
        for out in evaluate(pending):
            out = np.asarray(out, dtype=np.float64)
            if out.shape != dout.shape:
                raise ValueError(
                    f"{where}: dout must have the shape of the forward output {out.shape}; "
                    f"got {dout.shape}"
                )
            values.append(float(np.sum(out * dout)))
        pending.clear()

    for args in perturbations():
        pending.append(args)
        if len(pending) >= chunk:
            flush()
    if pending:
        flush()
    grads: dict[str, np.ndarray] = {}
    pos = 0
    for k in names:
        size = base[k].size
        pairs = np.asarray(values[pos : pos + 2 * size]).reshape(size, 2)
        grads[k] = ((pairs[:, 0] - pairs[:, 1]) / (2 * h)).reshape(base[k].shape)
        pos += 2 * size
    return grads


def grad_check_sparse(
    f: Callable[[np.ndarray], float],
    x: npt.ArrayLike,
    analytic_grad: npt.ArrayLike,
    num_checks: int = 10,
    h: float = DEFAULT_H,
    rng: np.random.Generator | None = None,
    verbose: bool = False,
) -> np.ndarray:
    """Compare ``analytic_grad`` with centred differences at ``num_checks`` random entries.

    Returns the relative error at each sampled entry (``num_checks`` values).
    Entries are drawn with ``rng`` (a ``np.random.Generator``), never from the
    global random state.

    Shapes: x (any), analytic_grad (same as x) -> errors (num_checks,).
    """
    x = _writable(x, "grad_check_sparse")
    analytic_grad = np.asarray(analytic_grad, dtype=np.float64)
    check_same_shape("x", x, "analytic_grad", analytic_grad, "grad_check_sparse")
    if num_checks < 1:
        raise ValueError(f"grad_check_sparse: num_checks must be >= 1; got {num_checks}")
    rng = get_rng(rng)
    errors = np.empty(num_checks)
    for k in range(num_checks):
        ix = tuple(int(rng.integers(n)) for n in x.shape)
        numeric = _centred_difference(f, x, ix, h)
        analytic = analytic_grad[ix]
        errors[k] = abs(numeric - analytic) / max(1e-8, abs(numeric) + abs(analytic))
        if verbose:
            print(f"numerical: {numeric:f} analytic: {analytic:f}, relative error: {errors[k]:e}")
    return errors


def _as_param_dict(
    x: npt.ArrayLike | Mapping[str, npt.ArrayLike], where: str
) -> dict[str, np.ndarray]:
    if isinstance(x, Mapping):
        return {k: np.asarray(v) for k, v in x.items()}
    return {"x": np.asarray(x)}


def directional_grad_check(
    f: Callable[[Any], float],
    x: npt.ArrayLike | Mapping[str, npt.ArrayLike],
    analytic_grad: npt.ArrayLike | Mapping[str, npt.ArrayLike],
    num_directions: int = 1,
    h: float = DEFAULT_H,
    rng: np.random.Generator | None = None,
) -> float:
    """Check a gradient along random directions: O(1) evaluations instead of O(size).

    For a random unit direction ``u`` the directional derivative
    ``(f(x + h·u) − f(x − h·u)) / 2h`` must equal ``⟨∇f(x), u⟩``. Each
    direction costs two evaluations of ``f`` whatever the size of ``x``. A
    wrong gradient passes only if its error is orthogonal to ``u``, which for
    a random ``u`` has probability zero.

    ``x`` is an array, or a dict of arrays (e.g. ``model.params``) with
    ``analytic_grad`` a dict of the same keys; all entries move together.
    ``f`` receives arrays of the same structure (a dict for a dict), new
    arrays that leave ``x`` untouched. Returns the largest relative error
    ``|numeric − analytic| / max(1e-8, |numeric| + |analytic|)`` over the
    directions.

    Shapes: x (any) or {name: array}, analytic_grad (same) -> float.
    """
    where = "directional_grad_check"
    is_dict = isinstance(x, Mapping)
    xs = _as_param_dict(x, where)
    gs = _as_param_dict(analytic_grad, where)
    if set(xs) != set(gs):
        raise ValueError(
            f"{where}: analytic_grad must have the keys of x {sorted(xs)}; got {sorted(gs)}"
        )
    for k in xs:
        check_same_shape(f"x[{k!r}]", xs[k], f"analytic_grad[{k!r}]", gs[k], where)
    rng = get_rng(rng)
    worst = 0.0
    for _ in range(num_directions):
        u = {k: rng.standard_normal(v.shape) for k, v in xs.items()}
        norm = np.sqrt(sum(float(np.sum(d * d)) for d in u.values()))
        u = {k: d / norm for k, d in u.items()}
        plus = {k: xs[k] + h * u[k] for k in xs}
        minus = {k: xs[k] - h * u[k] for k in xs}
        if is_dict:
            fp, fm = float(f(plus)), float(f(minus))
        else:
            fp, fm = float(f(plus["x"])), float(f(minus["x"]))
        numeric = (fp - fm) / (2 * h)
        analytic = sum(float(np.sum(gs[k] * u[k])) for k in xs)
        err = abs(numeric - analytic) / max(1e-8, abs(numeric) + abs(analytic))
        worst = max(worst, err)
    return worst
