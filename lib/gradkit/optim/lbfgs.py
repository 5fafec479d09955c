"""L-BFGS for full-batch problems, through SciPy's L-BFGS-B.

Taught in assignment 05 (second-order methods). Import it from
:mod:`gradkit.optim`.

L-BFGS builds a low-rank approximation of the inverse Hessian from the last
few (step, gradient-change) pairs and takes quasi-Newton steps with a line
search. It needs the *exact* loss and gradient at every call: use the whole
training set and switch off every source of noise (dropout, data
augmentation), otherwise the line search fails.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from .._validation import check_count, check_positive

__all__ = ["lbfgs"]


def _flatten_spec(
    x0: npt.ArrayLike | Mapping[str, npt.ArrayLike], where: str
) -> tuple[list[str] | None, list[tuple[int, ...]], list[np.dtype], np.ndarray]:
    """Return (keys or None, shapes, dtypes, flat float64 vector) for an array or dict of arrays."""
    if isinstance(x0, Mapping):
        if not x0:
            raise ValueError(f"{where}: x0 must hold at least one array; got an empty dict")
        keys = list(x0)
        arrays = [np.asarray(x0[k]) for k in keys]
    else:
        keys = None
        arrays = [np.asarray(x0)]
    for k, a in zip(keys or ["x0"], arrays):
        if a.dtype.kind not in "biuf":
            raise ValueError(f"{where}: {k} must be a real numeric array; got dtype {a.dtype}")
    shapes = [a.shape for a in arrays]
    dtypes = [a.dtype if a.dtype.kind == "f" else np.dtype(np.float64) for a in arrays]
    flat = np.concatenate([a.astype(np.float64).ravel() for a in arrays])
    return keys, shapes, dtypes, flat


def _unflatten(
    flat: np.ndarray,
    keys: list[str] | None,
    shapes: list[tuple[int, ...]],
    dtypes: list[np.dtype] | None = None,
) -> np.ndarray | dict[str, np.ndarray]:
    """Split a flat vector back into the structure of x0 (always new arrays)."""
    pieces, start = [], 0
    for i, shape in enumerate(shapes):
        size = int(np.prod(shape, dtype=np.int64))
        piece = np.array(flat[start : start + size], dtype=np.float64).reshape(shape)
        if dtypes is not None:
            piece = piece.astype(dtypes[i], copy=False)
        pieces.append(piece)
        start += size
    if keys is None:
        return pieces[0]
    return dict(zip(keys, pieces))


def _flatten_grad(
    grad: npt.ArrayLike | Mapping[str, npt.ArrayLike],
    keys: list[str] | None,
    shapes: list[tuple[int, ...]],
    where: str,
) -> np.ndarray:
    """Flatten the gradient ``loss_and_grad`` returned, checking it matches x0's structure."""
    if keys is None:
        grads = [np.asarray(grad, dtype=np.float64)]
        names = ["grad"]
    else:
        if not isinstance(grad, Mapping) or set(grad) != set(keys):
            got = sorted(grad) if isinstance(grad, Mapping) else type(grad).__name__
            raise ValueError(
                f"{where}: loss_and_grad must return a gradient dict with the keys of x0 "
                f"{sorted(keys)}; got {got}"
            )
        grads = [np.asarray(grad[k], dtype=np.float64) for k in keys]
        names = [f"grad[{k!r}]" for k in keys]
    for name, g, shape in zip(names, grads, shapes):
        if g.shape != shape:
            raise ValueError(f"{where}: {name} must have shape {shape} to match x0; got {g.shape}")
    return np.concatenate([g.ravel() for g in grads])


@overload
def lbfgs(
    loss_and_grad: Callable[[dict[str, np.ndarray]], tuple[float, Mapping[str, npt.ArrayLike]]],
    x0: Mapping[str, npt.ArrayLike],
    max_iter: int = ...,
    tol: float = ...,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]: ...
@overload
def lbfgs(
    loss_and_grad: Callable[[np.ndarray], tuple[float, npt.ArrayLike]],
    x0: npt.ArrayLike,
    max_iter: int = ...,
    tol: float = ...,
) -> tuple[np.ndarray, dict[str, Any]]: ...
def lbfgs(
    loss_and_grad: Callable[[Any], Any],
    x0: npt.ArrayLike | Mapping[str, npt.ArrayLike],
    max_iter: int = 100,
    tol: float = 1e-8,
) -> tuple[np.ndarray | dict[str, np.ndarray], dict[str, Any]]:
    """Minimize a smooth full-batch loss with L-BFGS (SciPy's ``L-BFGS-B``, no bounds).

    Quasi-Newton step ``x ← x − η·H_k·∇L(x)``, with ``H_k`` the L-BFGS
    inverse-Hessian estimate from recent steps and η from a line search.

    ``x0`` is an array or a dict of arrays (e.g. ``model.params``).
    ``loss_and_grad(x)`` receives the same structure (new float64 arrays,
    never ``x0`` itself) and returns ``(loss, grad)`` with ``grad`` shaped
    like ``x``. Internally everything is flattened into one float64 vector.
    ``tol`` is SciPy's ``tol`` (both the relative loss-decrease and the
    projected-gradient stopping thresholds); ``max_iter`` bounds the
    iterations. ``x0`` is not modified.

    Returns ``(x_opt, info)``: ``x_opt`` has the structure of ``x0`` (new
    arrays; a float32 entry comes back float32, integers as float64) and
    ``info`` holds ``loss`` (final loss), ``n_iter``, ``n_eval`` (function
    evaluations), ``converged`` (SciPy's success flag), ``message`` and
    ``loss_history`` (loss at x0 and after every iteration).

    Shapes: x0 (any) or {name: array} -> x_opt (same), info dict.

    Taught in assignment 05.
    """
    from scipy.optimize import minimize  # imported here: scipy.optimize is slow to import

    where = "lbfgs"
    if not callable(loss_and_grad):
        raise ValueError(
            f"{where}: loss_and_grad must be callable; got {type(loss_and_grad).__name__}"
        )
    max_iter = check_count("max_iter", max_iter, where)
    tol = check_positive("tol", tol, where)
    keys, shapes, dtypes, flat0 = _flatten_spec(x0, where)

    last: dict[str, Any] = {"x": None, "loss": None}

    def fun(flat: np.ndarray) -> tuple[float, np.ndarray]:
        out = loss_and_grad(_unflatten(flat, keys, shapes))
        if not isinstance(out, tuple) or len(out) != 2:
            raise ValueError(f"{where}: loss_and_grad must return a (loss, grad) pair")
        loss, grad = out
        loss = np.asarray(loss, dtype=np.float64)
        if loss.size != 1:
            raise ValueError(f"{where}: loss must be a scalar; got shape {loss.shape}")
        loss = float(loss.reshape(()))
        last["x"], last["loss"] = np.array(flat, copy=True), loss
        return loss, _flatten_grad(grad, keys, shapes, where)

    history = [fun(flat0)[0]]

    def record(xk: np.ndarray) -> None:
        # SciPy calls this after each iteration with the accepted point, which
        # is almost always the last one evaluated; re-evaluate only if not.
        if last["x"] is not None and np.array_equal(xk, last["x"]):
            history.append(last["loss"])
        else:
            history.append(fun(xk)[0])

    res = minimize(
        fun,
        flat0,
        method="L-BFGS-B",
        jac=True,
        tol=tol,
        callback=record,
        options={"maxiter": int(max_iter)},
    )
    info = {
        "loss": float(res.fun),
        "n_iter": int(res.nit),
        "n_eval": int(res.nfev),
        "converged": bool(res.success),
        "message": str(res.message),
        "loss_history": history,
    }
    return _unflatten(res.x, keys, shapes, dtypes), info
