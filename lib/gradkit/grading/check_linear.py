"""Checkers for assignment 01, linear models and loss functions.

Each ``check_<function>(student_fn, points, hidden=None)`` compares the
student's function with gradkit's reference on fixed public cases and, when
the grader passes its ``hidden`` token, on random cases seeded per student.
It returns the points earned (see :mod:`gradkit.grading.checker`).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from .. import gradcheck, linear, losses
from . import guard
from .checker import Checker, close, describe_diff
from .seeds import hidden_rng

__all__ = [
    "check_svm_loss_naive",
    "check_svm_loss_vectorized",
    "check_softmax_loss_naive",
    "check_softmax_loss_vectorized",
]

#: Agreement with the reference in float64. Different but correct orderings of
#: the same sums differ by ~1e-15 relative; 1e-7 leaves room for that while any
#: formula error (a missing 1/N, a wrong sign) is off by far more.
VALUE_RTOL = 1e-7
VALUE_ATOL = 1e-10
#: The student's analytic gradient against a centred difference of the
#: student's own loss: a correct gradient agrees to ~1e-8 (kinks of the hinge
#: can cost ~1e-6); a wrong one is off by > 1e-2.
SELF_GRAD_TOL = 1e-5
#: A vectorized loss may be at most this many times slower than the reference
#: (plus TIME_SLACK for timer noise): a Python loop over examples is ~50-500×
#: slower at the timing size, a reasonable vectorization within 1-3×.
TIME_FACTOR = 10.0
TIME_SLACK = 2e-3
TIME_ATTEMPTS = 3
#: The eval_numerical_gradient checker wants centred differences: their error
#: on the test function is ~1e-10, a one-sided difference's ~1e-5.
NUMGRAD_TOL = 1e-7
NUM_HIDDEN_CASES = 3


def _case_w(rng, n, d, c, scale=1.0):
    X = rng.standard_normal((n, d))
    W = scale * rng.standard_normal((d, c))
    y = rng.integers(c, size=n)
    return W, X, y


def _self_grad_error(ck, W, X, y, reg, dW):
    """Relative error of the student's dW against a centred difference of their loss."""

    def f(Wp):
        res = ck.call(Wp, X, y, reg)
        if not res.ok:
            raise RuntimeError(res.error)
        return float(res.value[0])

    try:
        num = gradcheck.eval_numerical_gradient(f, W.copy())
    except (RuntimeError, ValueError, TypeError):
        return np.inf
    return gradcheck.rel_error(num, dW)


def _pair(ck: Checker, check: str, *args, weight: float = 1.0):
    """Call the student's loss; return the result, or None after recording why it failed.

    ``weight`` is the weight of the failure: the first call stands for all
    the sub-checks that need its result.
    """
    res = ck.call(*args)
    if not res.ok:
        ck.fail_call(check, res, weight)
        return None
    if not (isinstance(res.value, tuple) and len(res.value) == 2):
        ck.record(
            check,
            False,
            f"expected a tuple (loss, dW), got {type(res.value).__name__}",
            "end with: return loss, dW",
            weight,
        )
        return None
    return res


def _check_w_loss(ck: Checker, ref, hidden, vectorized: bool):
    rng = np.random.default_rng(231)
    W, X, y = _case_w(rng, 6, 5, 3, scale=0.5)
    res = _pair(ck, "runs on a small case (N=6, D=5, C=3)", W, X, y, 0.0, weight=5.0)
    dw_ok = False
    if res is not None:
        loss, dW = res.value
        ref_loss, ref_dW = ref(W, X, y, 0.0)
        ck.record(
            "returns (loss, dW) with dW shaped like W",
            np.shape(dW) == W.shape,
            f"dW has shape {np.shape(dW)}, W has {W.shape}",
            "dW needs one entry per entry of W",
        )
        ck.record(
            "loss matches the reference (reg=0)",
            close(loss, ref_loss, VALUE_RTOL, VALUE_ATOL),
            describe_diff(loss, ref_loss),
            "average the per-example losses over N",
        )
        dw_ok = close(dW, ref_dW, VALUE_RTOL, VALUE_ATOL)
        ck.record(
            "dW matches the reference (reg=0)",
            dw_ok,
            describe_diff(dW, ref_dW),
            "check the 1/N and which columns get +x and -x",
        )
        ck.record(
            "inputs are not modified",
            not res.mutated,
            "W, X or y changed during the call",
            "work on new arrays instead of writing into the inputs",
        )
        err = np.inf
        if np.shape(dW) == W.shape:
            err = _self_grad_error(ck, W, X, y, 0.0, np.asarray(dW, dtype=float))
        ck.record(
            "dW agrees with the numeric gradient of your own loss",
            err < SELF_GRAD_TOL,
            f"relative error {err:.1e} (want < {SELF_GRAD_TOL:.0e})",
            "your loss and your gradient disagree; differentiate the loss you wrote",
        )
    reg_hint = "add reg * W to dW" if res is not None and dw_ok else "fix dW at reg=0 first"
    check = "regularization 0.5*reg*sum(W**2) in loss and dW (reg=0.3)"
    res = _pair(ck, check, W, X, y, 0.3)
    if res is not None:
        ref_loss, ref_dW = ref(W, X, y, 0.3)
        if not close(res.value[0], ref_loss, VALUE_RTOL, VALUE_ATOL):
            ck.record(
                check,
                False,
                "loss: " + describe_diff(res.value[0], ref_loss),
                "add 0.5 * reg * np.sum(W * W) to the loss",
            )
        else:
            ck.record(
                check,
                close(res.value[1], ref_dW, VALUE_RTOL, VALUE_ATOL),
                "dW: " + describe_diff(res.value[1], ref_dW),
                reg_hint,
            )
    check = "stable for scores of magnitude 1e4"
    Wb, Xb, yb = _case_w(np.random.default_rng(7), 4, 3, 4, scale=3e3)
    res = _pair(ck, check, Wb, Xb, yb, 0.0)
    if res is not None:
        ref_loss, _ = ref(Wb, Xb, yb, 0.0)
        ck.record(
            check,
            close(res.value[0], ref_loss, 1e-6, 1e-6),
            describe_diff(res.value[0], ref_loss),
            "subtract each row's maximum score before exponentiating",
        )
    if hidden is not None:
        _hidden_w_cases(ck, ref, hidden_rng(hidden, ck.name))
    if vectorized:
        _check_speed(ck, ref)


def _hidden_w_cases(ck, ref, rng):
    for k in range(NUM_HIDDEN_CASES):
        n, d, c = int(rng.integers(1, 30)), int(rng.integers(1, 20)), int(rng.integers(2, 12))
        W, X, y = _case_w(rng, n, d, c, scale=float(rng.uniform(0.01, 3)))
        reg = float(rng.choice([0.0, rng.uniform(0, 2)]))
        check = f"hidden case {k + 1} (N={n}, D={d}, C={c}, reg {'> 0' if reg else '= 0'})"
        res = _pair(ck, check, W, X, y, reg)
        if res is not None:
            rl, rdW = ref(W, X, y, reg)
            ok = close(res.value[0], rl, VALUE_RTOL, VALUE_ATOL) and close(
                res.value[1], rdW, VALUE_RTOL, VALUE_ATOL
            )
            ck.record(
                check, ok, "loss or dW differs from the reference", "try small N and C yourself"
            )


def _timings(ref, student, args, repeats=7):
    """Best-of-``repeats`` times of ``ref`` and ``student``, measured interleaved.

    BLAS runs on one thread: with several, the reference's time on a busy
    2-core machine swings by 50x and the ratio means nothing.
    """
    best_ref = best_student = float("inf")
    with threadpool_limits(limits=1), warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for _ in range(repeats):
            best_ref, best_student = _time_pair(ref, student, args, best_ref, best_student)
    return best_ref, best_student


def _time_pair(ref, student, args, best_ref, best_student):
    """One timed call of each, on fresh copies; returns the updated bests."""
    times = []
    for fn in (ref, student):
        call_args = tuple(a.copy() for a in args[:3]) + args[3:]
        t0 = time.perf_counter()
        fn(*call_args)
        times.append(time.perf_counter() - t0)
    return min(best_ref, times[0]), min(best_student, times[1])


def _check_speed(ck, ref):
    W, X, y = _case_w(np.random.default_rng(3), 1000, 200, 10, scale=0.01)
    res = ck.call(W, X, y, 1e-3)
    if not res.ok:
        ck.fail_call("vectorized: within 10x the reference's time", res)
        return
    # A loaded machine can slow single runs by 10-30 ms: re-measure before
    # failing. A loop over examples never passes (it is 50-500x slower).
    for _attempt in range(TIME_ATTEMPTS):
        t_ref, t_student = _timings(ref, ck.func, (W, X, y, 1e-3))
        guard.verify()  # the timed calls ran outside Checker.call
        ok = t_student <= TIME_FACTOR * t_ref + TIME_SLACK
        if ok:
            break
    ck.record(
        f"vectorized: {t_student * 1e3:.1f} ms vs reference {t_ref * 1e3:.1f} ms (N=1000, D=200)",
        ok,
        f"{t_student / t_ref:.0f}x slower than the reference",
        "remove the Python loops: use matrix products",
    )


def check_svm_loss_naive(svm_loss_naive, points=3, hidden=None, allow_reference=False) -> float:
    """Check ``svm_loss_naive(W, X, y, reg) -> (loss, dW)``."""
    ck = Checker(
        "svm_loss_naive", svm_loss_naive, points, _svm_forbidden(), allow_reference=allow_reference
    )
    _check_w_loss(ck, linear.svm_loss_naive, hidden, vectorized=False)
    return ck.finish()


def check_svm_loss_vectorized(
    svm_loss_vectorized, points=3, hidden=None, allow_reference=False
) -> float:
    """Check ``svm_loss_vectorized(W, X, y, reg) -> (loss, dW)``, including its speed."""
    ck = Checker(
        "svm_loss_vectorized",
        svm_loss_vectorized,
        points,
        _svm_forbidden(),
        allow_reference=allow_reference,
    )
    _check_w_loss(ck, linear.svm_loss_vectorized, hidden, vectorized=True)
    return ck.finish()


def check_softmax_loss_naive(
    softmax_loss_naive, points=3, hidden=None, allow_reference=False
) -> float:
    """Check ``softmax_loss_naive(W, X, y, reg) -> (loss, dW)``."""
    ck = Checker(
        "softmax_loss_naive",
        softmax_loss_naive,
        points,
        _softmax_forbidden(),
        allow_reference=allow_reference,
    )
    _check_w_loss(ck, linear.softmax_loss_naive, hidden, vectorized=False)
    return ck.finish()


def check_softmax_loss_vectorized(
    softmax_loss_vectorized, points=3, hidden=None, allow_reference=False
) -> float:
    """Check ``softmax_loss_vectorized(W, X, y, reg) -> (loss, dW)``, including its speed."""
    ck = Checker(
        "softmax_loss_vectorized",
        softmax_loss_vectorized,
        points,
        _softmax_forbidden(),
        allow_reference=allow_reference,
    )
    _check_w_loss(ck, linear.softmax_loss_vectorized, hidden, vectorized=True)
    return ck.finish()


def _svm_forbidden():
    return {
        "gradkit.linear.svm_loss_naive": linear.svm_loss_naive,
        "gradkit.linear.svm_loss_vectorized": linear.svm_loss_vectorized,
        "gradkit.losses.svm_loss": losses.svm_loss,
    }


def _softmax_forbidden():
    return {
        "gradkit.linear.softmax_loss_naive": linear.softmax_loss_naive,
        "gradkit.linear.softmax_loss_vectorized": linear.softmax_loss_vectorized,
        "gradkit.losses.softmax_loss": losses.softmax_loss,
    }
