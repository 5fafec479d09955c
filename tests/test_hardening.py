"""The grading server against hostile notebooks: one attack class per student, honest ones beside.

One sandboxed grading run (two workers) of the tiny course. Each attacker tries one
thing a hostile student tried against the earlier grader (docs/grading.md has the
table): plant links where the grader reads and writes, exhaust memory, disk or the
grader itself, forge evidence, or carry hidden inputs into text the feedback shows.
The honest students must get full marks; nothing outside the run folders may change
(owner, mode, content); each attacker gains nothing and is told what happened.

The attacks run only in the sandbox: unsandboxed they would attack this machine.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from course_helpers import (
    ASSIGNMENT,
    NOTEBOOK,
    SANDBOX,
    SECOND,
    kernels_left,
    make_course,
    needs_sandbox,
)
from gradkit.course.demo import make_submission
from gradkit.course.directory import Course
from gradkit.course.grade import grade
from gradkit.course.release import release
from gradkit.course.report import write_feedback

pytestmark = [pytest.mark.slow, pytest.mark.a01, needs_sandbox]
root_only = pytest.mark.skipif(
    os.geteuid() != 0, reason="control groups and kernel user ids need a root grader"
)

#: A cell's time limit. The hog's cell (tmpfs filled, then three processes of 1.2 GiB near
#: the sandbox's memory limit) could run past 8 s on a loaded machine before the limit ended
#: one of its processes, and the timeout, not the memory limit, then ended it (about one
#: run in eight). No attack depends on the cell limit: the fixture takes as long at 20 s.
CELL_TIMEOUT = 20
NOTEBOOK_BUDGET = 90.0
CORRECT = "def least_squares(X, y):\n    return np.linalg.solve(X.T @ X, X.T @ y)\n"

LINKER = (
    "import os, sys\n"
    "conn = sys.argv[sys.argv.index('-f') + 1]\n"
    "tried = {}\n"
    "def _try(name, fn):\n"
    "    try:\n"
    "        fn()\n"
    "        tried[name] = 'done'\n"
    "    except Exception as exc:\n"
    "        tried[name] = type(exc).__name__\n"
    "def _swap():\n"
    "    os.unlink(conn)\n"
    "    os.symlink(DECOY, conn)\n"
    "_try('connection file', _swap)\n"
    "_try('connection folder', lambda: os.symlink(DECOY, conn + '.planted'))\n"
    "for line in open('/proc/self/mountinfo'):\n"
    "    mount = line.split()[4]\n"
    "    if mount.endswith('/req'):\n"
    "        _try('request folder', lambda m=mount: os.symlink(DECOY, m + '/9-request.json'))\n"
    "for n in range(1, 300):  # every reply the notebook could send, and its arrays\n"
    "    _try('reply', lambda n=n: os.symlink(GRADEBOOK, f'/gradkit-out/{n}-reply.json'))\n"
    "    _try('array', lambda n=n: os.symlink(DECOY, f'/gradkit-out/{n}-r1.npy'))\n"
    "    _try('fifo', lambda n=n: os.mkfifo(f'/gradkit-out/{n}-r2.npy'))\n"
    "_try('cwd', lambda: os.listdir('/proc/1/cwd'))\n" + CORRECT
)
RESTARTER = (
    "import glob, os\n"
    "for i, path in enumerate(sorted(glob.glob('/gradkit-ipc/*'))):\n"
    "    os.unlink(path)\n"
    "    os.symlink(GRADEBOOK if i % 2 else DECOY, path)\n"
    "os._exit(1)\n"
)
HOG = (
    "import os, time\n"
    "def _fill(where):\n"
    "    n = 0\n"
    "    try:\n"
    "        while True:\n"
    "            with open(f'{where}/fill{n}', 'wb') as fh:\n"
    "                fh.write(b'\\0' * 32 * 2**20)\n"
    "            n += 1\n"
    "    except OSError:\n"
    "        pass\n"
    "_fill('/tmp')\n"
    "_fill('.')\n"
    "_r, _w = os.pipe()\n"
    "for _ in range(3):  # three children of 1.2 GiB each, alive at once\n"
    "    if os.fork() == 0:\n"
    "        try:\n"
    "            os.close(_w)\n"
    "            _a = np.ones(int(1.2 * 2**30) // 8)\n"
    "            os.read(_r, 1)\n"
    "        finally:\n"
    "            os._exit(0)\n"
    "time.sleep(5)\n"
    "os.close(_w)\n"
    "for _ in range(3):\n"
    "    os.wait()\n" + CORRECT
)
FILLER = (
    "WROTE = 0\n"
    "for _where in ('.', '/tmp'):\n"
    "    _n = 0\n"
    "    while WROTE < 3 * 2**30:\n"
    "        try:\n"
    "            with open(f'{_where}/junk{_n}', 'wb') as _fh:\n"
    "                _fh.write(b'\\1' * 32 * 2**20)\n"
    "        except OSError:\n"
    "            break\n"
    "        WROTE += 32 * 2**20\n"
    "        _n += 1\n"
    "def least_squares(X, y):\n"
    "    if WROTE > 600 * 2**20:\n"
    "        raise RuntimeError(f'the disk limit did not hold: wrote {WROTE} bytes')\n"
    "    return np.linalg.solve(X.T @ X, X.T @ y)\n"
)
FLOODER = (
    "import threading\n"
    "from IPython import get_ipython\n"
    "_kernel = get_ipython().kernel\n"
    "def _flood():\n"
    "    while True:\n"
    "        _kernel.session.send(_kernel.iopub_socket, 'stream',\n"
    "                             {'name': 'stdout', 'text': 'x' * 1000})\n"
    "threading.Thread(target=_flood, daemon=True).start()\n" + CORRECT
)
SHOUTER = (
    "from IPython.display import display\n"
    "display({'text/plain': 'x' * 150_000_000}, raw=True)\n" + CORRECT
)
BIG_REPLY = "_big = np.zeros(8 * 2**20)\ndef least_squares(X, y):\n    return [_big] * 400\n"
# 60 MiB, under the kernel's size of a file: the reply is written, 400 references to it
MANY_REFS = "_big = np.zeros(int(7.5 * 2**20))\ndef least_squares(X, y):\n    return [_big] * 400\n"
FORGER = (
    "from IPython.display import display\n"
    "display({'text/plain': 'extra_credit_bonus 100/100',\n"
    "         'application/vnd.gradkit.result+json': {'test': 'extra_credit_bonus',\n"
    "          'points': 100.0, 'checks': [{'name': 'bonus', 'passed': True, 'weight': 1.0}]}},\n"
    "        raw=True)\n" + CORRECT
)
# Remembers every input least_squares saw; its numeric gradient, graded next, puts them all
# in an exception message: hidden inputs would reach the feedback if hidden cases ran first.
LEAKER = (
    "SEEN = []\n"
    "def least_squares(X, y):\n"
    "    SEEN.append(('LEAK', X.shape, round(float(X.flat[0]), 6)))\n"
    "    return np.linalg.solve(X.T @ X, X.T @ y)\n"
)
LEAKER_GRAD = "def eval_numerical_gradient(f, x, h=1e-5):\n    raise ValueError(repr(SEEN))\n"
ATTACKS = {
    "linker": LINKER,
    "restarter": RESTARTER,
    "hog": HOG,
    "filler": FILLER,
    "flooder": FLOODER,
    "shouter": SHOUTER,
    "bigreply": BIG_REPLY,
    "manyrefs": MANY_REFS,
    "forger": FORGER,
    "leaker": LEAKER,
}


def _answer(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _state(root: Path) -> dict[str, tuple]:
    """Owner, mode and content hash of every file and folder below ``root``."""
    out = {}
    for path in [root, *root.rglob("*")]:
        st = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        out[str(path.relative_to(root))] = (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), digest)
    return out


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    base = tmp_path_factory.mktemp("hardening")
    decoy = base / "decoy.txt"  # a file of the host's that root could be tricked into changing
    decoy.write_text("root's own file\n")
    decoy.chmod(0o600)
    course = Course(make_course(base / "course", second=True))
    release(course, ASSIGNMENT, log=lambda m: None)
    subs = base / "subs"
    prelude = f"DECOY = {str(decoy)!r}\nGRADEBOOK = {str(course.db_path)!r}\n"
    for student in ("ada", "brook", *ATTACKS):
        make_submission(course, ASSIGNMENT, subs / student, "full")
    for student, source in ATTACKS.items():
        path = subs / student / f"{NOTEBOOK}.ipynb"
        nb = nbformat.read(str(path), as_version=4)
        _answer(nb, "least_squares").source = prelude + source
        if student == "leaker":
            _answer(nb, "eval_numerical_gradient").source = LEAKER_GRAD
        nbformat.write(nb, str(path))
    runs_before = set(Path(tempfile.gettempdir()).glob("gradkit-run-*"))
    course_before = _state(course.root)
    decoy_before = _state(base)["decoy.txt"]
    subs_before = _state(subs)
    t0 = time.monotonic()
    records = grade(
        course,
        ASSIGNMENT,
        subs,
        timeout=CELL_TIMEOUT,
        progress=False,
        jobs=2,
        sandbox=SANDBOX,
        notebook_timeout=NOTEBOOK_BUDGET,
    )
    seconds = time.monotonic() - t0
    pages = write_feedback(course, ASSIGNMENT)
    return {
        "course": course,
        "records": records,
        "seconds": seconds,
        "course_before": course_before,
        "decoy_before": decoy_before,
        "decoy_after": _state(base)["decoy.txt"],
        "subs_before": subs_before,
        "subs_after": _state(subs),
        "runs_left": set(Path(tempfile.gettempdir()).glob("gradkit-run-*")) - runs_before,
        "pages": {(p.parts[-3], p.stem): p.read_text() for p in pages},
    }


def _tests(attacked, student, notebook=NOTEBOOK):
    return {t.test: t for t in attacked["records"][student][notebook].tests}


def test_honest_students_get_full_marks_beside_every_attack(attacked):
    for student in ("ada", "brook"):
        mine = attacked["records"][student]
        assert mine[NOTEBOOK].score == 4 and mine[SECOND].score == 2, student


def test_links_the_kernel_plants_are_never_followed(attacked):
    """The decoy and every file of the course keep their owner, mode and content (the
    grader's own writes aside: the gradebook's content, autograded/, feedback/)."""
    assert attacked["decoy_after"] == attacked["decoy_before"]
    assert attacked["subs_after"] == attacked["subs_before"]
    after = _state(attacked["course"].root)
    for path, (uid, gid, mode, digest) in attacked["course_before"].items():
        assert path in after, path
        if path == "gradebook.db":
            assert after[path][:3] == (uid, gid, mode), path
        else:
            assert after[path] == (uid, gid, mode, digest), path
    for path, (uid, _, mode, _) in after.items():
        assert uid == os.geteuid() and not mode & 0o002, (path, uid, oct(mode))  # none 777


def test_the_linker_and_the_restarter_only_cost_themselves(attacked):
    linker = attacked["records"]["linker"]
    assert linker[SECOND].score == 2  # its other notebook is graded as usual
    restarter = attacked["records"]["restarter"][NOTEBOOK]
    assert any(i["kind"] == "kernel died" for i in restarter.incidents)
    assert _tests(attacked, "restarter")["eval_numerical_gradient"].score == 2


def test_run_folders_are_removed_and_no_kernel_survives(attacked):
    assert attacked["runs_left"] == set()
    assert kernels_left() == []
    for student in attacked["records"]:
        for record in attacked["records"][student].values():
            assert not any(i["kind"] == "cleanup failed" for i in record.incidents), student


@root_only
def test_a_sandbox_over_its_memory_ends_its_notebook_and_costs_nobody_else(attacked):
    hog = attacked["records"]["hog"]
    kinds = [i["kind"] for i in hog[NOTEBOOK].incidents]
    assert "over the memory limit" in kinds, kinds
    tests = _tests(attacked, "hog")
    assert "went over its memory limit" in tests["eval_numerical_gradient"].problem
    assert hog[SECOND].score == 2


def test_the_disk_limit_holds(attacked):
    filler = _tests(attacked, "filler")
    assert filler["least_squares"].score == 2, filler["least_squares"].text()


def test_a_kernel_that_floods_or_shouts_cannot_hold_or_bloat_the_grader(attacked):
    for student in ("flooder", "shouter"):
        record = attacked["records"][student][NOTEBOOK]
        assert record.status in ("graded", "graded with incidents"), (student, record.note)
        assert _tests(attacked, student)["least_squares"].score == 2, student
    assert attacked["seconds"] < NOTEBOOK_BUDGET * len(attacked["records"]) / 2


def test_a_reply_larger_than_the_grader_reads_costs_only_its_test(attacked):
    tests = _tests(attacked, "bigreply")
    assert tests["least_squares"].score == 0
    assert "more than the grader" in tests["least_squares"].text()
    assert tests["eval_numerical_gradient"].score == 2


def test_a_file_named_many_times_in_a_reply_is_read_once(attacked):
    tests = _tests(attacked, "manyrefs")
    assert tests["least_squares"].score == 0  # a list of arrays is not the answer
    assert tests["least_squares"].problem == "", tests["least_squares"].text()
    assert tests["eval_numerical_gradient"].score == 2


def test_results_displayed_outside_test_cells_are_ignored_and_recorded(attacked):
    forger = attacked["records"]["forger"][NOTEBOOK]
    assert [t.test for t in forger.tests] == ["least_squares", "eval_numerical_gradient"]
    assert any(i["kind"] == "result outside a test cell ignored" for i in forger.incidents)
    assert "extra_credit_bonus" not in attacked["pages"][("forger", NOTEBOOK)]


def test_nothing_derived_from_a_hidden_case_reaches_the_feedback(attacked):
    """Hidden cases run after the notebook's last cell: when the leaker's later test
    raised its collected inputs, least_squares had met only the public cases."""
    from gradkit.grading import get_spec

    spec = get_spec("least_squares")
    public = {c.build().args[0].shape for check in spec.checks for c in getattr(check, "cases", [])}
    page = attacked["pages"][("leaker", NOTEBOOK)]
    shapes = {
        tuple(int(n) for n in m.split(",")) for m in re.findall(r"LEAK&#x27;, \((\d+, \d+)\)", page)
    }
    assert shapes, page  # the leaker did get its message into the feedback
    assert shapes <= public, (shapes, public)
