"""The outcome cache (grading/outcome_cache.py): the same verdicts with and without it, a new
folder when the library changes, corrupt entries recomputed, concurrent writers, hidden
cases never stored, and never where a sandboxed kernel could read it."""

from __future__ import annotations

import multiprocessing
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from gradkit.grading import all_specs
from gradkit.grading.callee import Call, DirectCallee, Kept
from gradkit.grading.engine import REFERENCE, Context, run_spec
from gradkit.grading.outcome_cache import (
    ENV,
    CallDigests,
    NotCacheable,
    OutcomeCache,
    cache_root,
    for_sandboxed_grader,
    implementation_id,
    library_fingerprint,
    open_cache,
    package_fingerprint,
    world,
)
from gradkit.grading.spec import Fn, Rng, inputs

#: One spec of each kind of check the cache serves: plain outputs with a speed check (whose
#: expected values are cached), a forward/backward pair (kept caches, never cached), a
#: dict-valued output, statistics of an initializer's draws (reduced outcomes), an update
#: rule over several steps, and a training run. None has a mistake that draws unseeded
#: random numbers (those differ from run to run, cache or not).
SPECS = [
    "svm_loss_vectorized",
    "affine_backward",
    "fit_pca",
    "xavier_init",
    "adam",
    "solver_step",
]
#: Specs whose reference and mistakes are only called with or for a kept cache (a forward
#: keeping its cache, a backward fed it): nothing of them is cached.
KEPT_ONLY = {"affine_backward"}
TOKEN = "student-of-the-cache-test"


def _verdict(result) -> dict:
    """A result as data, without the speed check's measured times (they differ per run)."""
    data = result.to_dict()
    data["checks"] = [
        {k: v for k, v in c.items() if k not in ("name", "detail")}
        if str(c.get("name", "")).startswith("fast enough")
        else c
        for c in data["checks"]
    ]
    return data


def _grade(spec, mistake, cache, token=TOKEN):
    student = DirectCallee(spec.implementation(mistake))
    return _verdict(run_spec(spec, student, 3, token, cache=cache))


def _fresh_cache(folder: Path) -> OutcomeCache:
    """A cache object reading ``folder`` anew (nothing held in memory), storing every outcome."""
    return OutcomeCache(folder, library_fingerprint(), min_seconds=0.0)


@pytest.fixture
def folder(tmp_path) -> Path:
    cache = open_cache(tmp_path / "cache")
    assert cache is not None
    return cache.folder


@pytest.mark.parametrize("name", SPECS)
def test_verdicts_are_the_same_with_and_without_the_cache(name, folder):
    spec = all_specs()[name]
    for mistake in [None, *spec.mistakes]:
        plain = _grade(spec, mistake, None)
        cold = _fresh_cache(folder)
        assert _grade(spec, mistake, cold) == plain, (mistake and mistake.id, "cold")
        warm = _fresh_cache(folder)
        assert _grade(spec, mistake, warm) == plain, (mistake and mistake.id, "warm")
        assert warm.stats["ignored"] == 0
        if name in KEPT_ONLY:  # every call holds or returns a kept cache: all run live
            assert cold.stats["refused"] > 0 and warm.stats["hits"] == 0
        else:
            assert warm.stats["hits"] > 0


def test_the_expected_values_of_a_speed_check_are_read_not_computed(folder):
    spec = all_specs()["svm_loss_vectorized"]
    _grade(spec, None, _fresh_cache(folder))
    warm = _fresh_cache(folder)
    _grade(spec, None, warm)
    keys = [key for who, key, _ in warm._entries(spec.name).values() if who == REFERENCE]
    assert any(key.startswith("speed|") for key in keys)
    assert warm.stats["stored"] == 0  # nothing new to compute the second time


def test_hidden_cases_are_never_stored_and_the_public_ones_do_not_depend_on_the_student(
    tmp_path,
):
    spec = all_specs()["svm_loss_naive"]
    stored = []
    for k, token in enumerate(["alice", "bob"]):
        cache = OutcomeCache(tmp_path / str(k), library_fingerprint(), min_seconds=0.0)
        cache.folder.mkdir()
        for mistake in [None, *spec.mistakes]:
            _grade(spec, mistake, cache, token)
        entries = _fresh_cache(cache.folder)._entries(spec.name)
        assert entries
        assert not [key for _, key, _ in entries.values() if "hidden" in key]
        stored.append(set(entries))
    assert stored[0] == stored[1]


def test_a_check_that_reads_the_hidden_generator_turns_the_cache_off(folder):
    spec = all_specs()["svm_loss_naive"]
    cache = _fresh_cache(folder)
    ctx = Context(spec, DirectCallee(spec.implementation()), np.random.default_rng(1), "t", cache)
    ctx.run(REFERENCE, [("one", Call(spec.primary, spec.checks[0].cases[0].build()))])
    assert cache.holds(spec.name)
    _ = ctx.hidden
    ctx.close_cache()
    assert ctx.cache is None
    assert not _fresh_cache(folder).holds(spec.name)


def test_a_change_of_the_library_or_of_numpy_gives_another_folder(tmp_path):
    package = Path(__file__).resolve().parents[1] / "lib" / "gradkit"
    copy = tmp_path / "gradkit"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    outside = world()
    before = package_fingerprint(copy, outside)
    assert package_fingerprint(copy, outside) == before
    os.utime(copy / "losses.py", (0, 0))  # a touched file with the same content
    assert package_fingerprint(copy, outside) == before
    seen = {before}
    for edited in ("grading/specs/a01_classifiers.py", "losses.py", "grading/mistakes.py"):
        path = copy / edited
        path.write_text(path.read_text() + "\n# changed\n")
        seen.add(package_fingerprint(copy, outside))
    (copy / "grading" / "specs" / "a06_new.py").write_text("SPECS = []\n")
    seen.add(package_fingerprint(copy, outside))
    seen.add(package_fingerprint(copy, {**outside, "numpy": "0.0.1"}))
    assert len(seen) == 6


def test_an_entry_of_another_library_is_not_read(folder):
    spec = all_specs()["svm_loss_naive"]
    _grade(spec, None, _fresh_cache(folder))
    other = OutcomeCache(folder, "0" * 40, min_seconds=0.0)  # same file, other fingerprint
    assert not other.holds(spec.name)
    assert other.stats["ignored"] == 1


def test_a_changed_case_or_implementation_is_a_miss():
    spec = all_specs()["svm_loss_naive"]
    digests = CallDigests()
    inp = spec.checks[0].cases[0].build()
    impl = implementation_id(spec.implementation())
    assert impl is not None
    base = digests(REFERENCE, impl, "k", Call(spec.primary, inp), None)
    W = inp.args[0]
    changed = W.copy()
    changed.flat[0] += 1e-12
    variants = [
        Call(spec.primary, replace(inp, args=(changed, *inp.args[1:]))),
        Call(spec.primary, replace(inp, args=(W.astype(np.float32), *inp.args[1:]))),
        Call(spec.primary, replace(inp, args=(np.asfortranarray(W), *inp.args[1:]))),
        Call(spec.primary, inp.replace(reg=0.123)),
        Call(spec.primary, inp, returns=("data", "keep")),
    ]
    got = {digests(REFERENCE, impl, "k", c, None) for c in variants}
    got.add(digests(REFERENCE, impl, "other key", Call(spec.primary, inp), None))
    mistake = implementation_id(spec.implementation(spec.mistakes[0]))
    assert mistake not in (None, impl)
    got.add(digests(REFERENCE, str(mistake), "k", Call(spec.primary, inp), None))
    assert base not in got and len(got) == len(variants) + 2
    assert digests(REFERENCE, impl, "k", Call(spec.primary, inp), None) == base
    with pytest.raises(NotCacheable):
        digests(REFERENCE, impl, "k", Call("f", inputs(Kept(1))), None)
    assert digests(REFERENCE, impl, "k", Call("f", inputs(Fn.of("exp", a=2.0), Rng(3))), None)


def test_code_the_fingerprint_does_not_cover_is_never_cached():
    def reference_of_a_test(x):
        return x

    assert implementation_id({"f": reference_of_a_test}) is None
    assert implementation_id({"f": np.sum}) is not None


CORRUPTIONS = {
    "truncated": lambda raw: raw[: len(raw) // 2],
    "one byte flipped": lambda raw: raw[:-10] + bytes([raw[-10] ^ 1]) + raw[-9:],
    "empty": lambda raw: b"",
    "not an entry": lambda raw: b"hello",
}


@pytest.mark.parametrize("how", sorted(CORRUPTIONS))
def test_a_corrupt_entry_is_recomputed_and_rewritten(how, folder):
    spec = all_specs()["svm_loss_naive"]
    plain = _grade(spec, None, None)
    _grade(spec, None, _fresh_cache(folder))
    path = folder / f"{spec.name}.outcomes"
    path.write_bytes(CORRUPTIONS[how](path.read_bytes()))
    cache = _fresh_cache(folder)
    assert _grade(spec, None, cache) == plain
    assert cache.stats["ignored"] == 1 and cache.stats["hits"] == 0
    again = _fresh_cache(folder)
    assert _grade(spec, None, again) == plain
    assert again.stats["hits"] > 0 and again.stats["ignored"] == 0


def test_a_link_or_an_entry_of_another_spec_is_not_trusted(folder, tmp_path):
    specs = all_specs()
    for name in ("svm_loss_naive", "softmax_loss_naive"):
        _grade(specs[name], None, _fresh_cache(folder))
    theirs = folder / "softmax_loss_naive.outcomes"
    mine = folder / "svm_loss_naive.outcomes"
    shutil.copy(theirs, mine)  # another spec's valid entry under this name
    assert not _fresh_cache(folder).holds("svm_loss_naive")
    outside = tmp_path / "planted"
    shutil.copy(theirs, outside)
    mine.unlink()
    mine.symlink_to(outside)
    cache = _fresh_cache(folder)
    assert not cache.holds("svm_loss_naive") and cache.stats["ignored"] == 1


def _grade_in_a_process(args) -> list[dict]:
    folder, names = args
    cache = OutcomeCache(Path(folder), library_fingerprint(), min_seconds=0.0)
    specs = all_specs()
    out = []
    for name in names:
        spec = specs[name]
        for mistake in [None, *spec.mistakes]:
            out.append(_grade(spec, mistake, cache))
            cache.flush(name)
    return out


def test_concurrent_writers_leave_valid_entries(folder):
    names = ["svm_loss_naive", "sgd_momentum", "fit_pca"]
    jobs = [(str(folder), names[k:] + names[:k]) for k in range(4)]  # same files, other orders
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.map(_grade_in_a_process, jobs)
    plain = {}
    specs = all_specs()
    for name in names:
        plain[name] = [_grade(specs[name], m, None) for m in [None, *specs[name].mistakes]]
    for (_, order), got in zip(jobs, results):
        assert got == [v for name in order for v in plain[name]]
    assert not list(folder.glob("*.tmp")) and not list(folder.glob(".*.tmp"))
    cache = _fresh_cache(folder)
    for name in names:
        assert _grade_in_a_process((str(folder), [name])) == plain[name]
        assert cache.holds(name)
    assert cache.stats["ignored"] == 0


def test_writers_merge_what_each_computed(folder):
    spec = all_specs()["svm_loss_naive"]
    a, b = _fresh_cache(folder), _fresh_cache(folder)
    ctx_a = Context(spec, DirectCallee({}), None, None, a)
    ctx_b = Context(spec, DirectCallee({}), None, None, b)
    cases = spec.checks[0].cases
    ctx_a.run(REFERENCE, [("first", Call(spec.primary, cases[0].build()))])
    ctx_b.run(REFERENCE, [("second", Call(spec.primary, cases[-1].build()))])
    ctx_a.close_cache()
    ctx_b.close_cache()
    keys = {key for _, key, _ in _fresh_cache(folder)._entries(spec.name).values()}
    assert keys == {"first", "second"}


def test_where_the_cache_lives(tmp_path, monkeypatch):
    env = {"HOME": "/home/someone"}
    assert cache_root({**env, "XDG_CACHE_HOME": "/x/cache"}) == Path("/x/cache/gradkit")
    monkeypatch.setenv("HOME", "/home/someone")
    assert cache_root({}) == Path("/home/someone/.cache/gradkit")
    assert cache_root({ENV: str(tmp_path)}) == tmp_path
    for off in ("off", "0", "", "none"):
        assert cache_root({ENV: off}) is None
    with pytest.raises(ValueError, match="absolute"):
        cache_root({ENV: "relative/folder"})


def test_a_folder_other_users_may_write_is_not_used(tmp_path):
    root = tmp_path / "shared"
    root.mkdir()
    root.chmod(0o777)
    with pytest.warns(RuntimeWarning, match="other users"):
        assert open_cache(root) is None


def test_never_where_a_sandboxed_kernel_sees_it(tmp_path, monkeypatch):
    from gradkit.course.sandbox import kernel_visible_paths

    visible = kernel_visible_paths()
    import sys

    assert Path(sys.prefix) in visible or Path(sys.prefix).resolve() in visible
    monkeypatch.setenv(ENV, str(tmp_path / "inside" / "cache"))
    with pytest.warns(RuntimeWarning, match="sandboxed kernel sees"):
        assert for_sandboxed_grader([*visible, tmp_path / "inside"]) is None
    assert not (tmp_path / "inside").exists()  # nothing was created there
    monkeypatch.setenv(ENV, "off")
    assert for_sandboxed_grader(visible) is None
    monkeypatch.setenv(ENV, str(tmp_path / "elsewhere"))
    cache = for_sandboxed_grader(visible)
    assert cache is not None and cache.folder.stat().st_mode & 0o777 == 0o700


def test_old_libraries_folders_and_dead_writers_files_are_removed(tmp_path):
    from gradkit.grading import outcome_cache

    outcome_cache._OPEN.clear()
    outcomes = tmp_path / "cache" / f"outcomes-{outcome_cache.FORMAT}"
    old, recent = outcomes / ("a" * 40), outcomes / ("b" * 40)
    for folder in (old, recent):
        folder.mkdir(parents=True, mode=0o700)
    (tmp_path / "cache").chmod(0o700)
    outcomes.chmod(0o700)
    long_ago = 1_000_000_000
    os.utime(old, (long_ago, long_ago))
    cache = open_cache(tmp_path / "cache")
    assert cache is not None
    dead = cache.folder / ".svm_loss_naive.1.abc.tmp"
    dead.write_bytes(b"half")
    os.utime(dead, (long_ago, long_ago))
    outcome_cache._OPEN.clear()
    assert open_cache(tmp_path / "cache") is not None
    assert not old.exists() and recent.exists() and not dead.exists()


def test_the_grader_uses_the_cache_only_for_sandboxed_kernels(tmp_path, monkeypatch):
    from gradkit.course.execute import GradkitExecute

    monkeypatch.setenv(ENV, str(tmp_path / "cache"))
    assert GradkitExecute(sandbox=False)._outcome_cache() is None
    cache = GradkitExecute(sandbox=True)._outcome_cache()
    assert cache is not None and tmp_path in cache.folder.parents
