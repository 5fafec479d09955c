"""i) Throughput on Dask: one class graded by `gradkit grade --dask` on 1 and on 2 workers.

A class of correct submissions of assignment 01 (16 students, two notebooks each;
3 with ``--quick``) is graded, back to back, on a cluster of one and of two
single-threaded worker processes, sandbox on as by default. The cluster is what
``LocalCluster(n_workers=N, threads_per_worker=1, processes=True)`` starts (a nanny
and a worker process per worker), except that the scheduler gets a process of its own
(``dask scheduler``, then ``dask worker --nworkers N --nthreads 1``): a LocalCluster
runs it in the caller's process beside the nannies, where its CPU time cannot be told
apart. The grader is the real command line (``gradkit grade --dask ADDRESS``) in a
subprocess, instrumented from outside (:func:`grader_main` wraps a few functions of
:mod:`gradkit.course.grade`; nothing in gradkit changes).

Where the CPU goes is counted per part, which load from other work cannot inflate:

* ``cluster``: a cpuacct control group (root) holding the scheduler, the nannies, the
  workers, their grading processes and the sandboxed kernels (in pid namespaces of
  their own, which per-process accounting misses; the kernels' control groups of
  other controllers do not move them out of this one);
* ``scheduler``: the scheduler's process, from ``/proc/PID/stat``;
* ``grader``: a second cpuacct group holding the ``gradkit grade`` process;
* ``machine``: busy time of the whole machine from ``/proc/stat`` (other work
  included), the only figure when this process may not make control groups.

From the grader it records, per notebook: the nbgrader sanitizing, the two
gradebook writes (the "grading stopped" mark before the task, the scores after),
the graded notebook's file, and the bytes of each task (payload in without the kit,
which is scattered once per worker; result out). From the scheduler's task stream it
takes each task's compute interval, and reports the *dispatch gap*: on a worker, the
time from the end of its previous task (or from the task's submission, if later) to
the start of the next — the scheduler's and the worker's overhead per task.

Then, on the first (1-worker) cluster: its idle CPU over ``IDLE_SECONDS`` (measured
on every cluster, before grading); ``NOOP_TASKS`` no-op tasks with a payload and a
result of the measured mean sizes, submitted at once (the scheduler's CPU and the
wall time per task); the cost of one ``distributed.wait(..., FIRST_COMPLETED)``
over N pending futures, which the grader calls once per finished notebook after its
last submission; and the scheduler's resident memory per pending task of the real
payload's size.

:func:`project` turns those figures into the time to grade N notebooks on C cores
(bench/README.md, "Row i"). ``python -m bench.dask_throughput [--quick] [--students N]
[--rounds R] [--json FILE]`` prints one JSON document and the table rows (rounds run
1, 2, 2, 1, ... workers); ``python -m bench`` runs one round as row i.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .common import CpuGroup, machine_busy_seconds

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_linear_models"
WORKER_COUNTS = (1, 2)
STUDENTS = 16
QUICK_STUDENTS = 3
NOOP_TASKS = 300
QUICK_NOOP_TASKS = 40
#: Pending-future counts at which one ``distributed.wait(FIRST_COMPLETED)`` is timed.
WAIT_SIZES = (100, 1000, 4000)
QUICK_WAIT_SIZES = (100, 500)
#: Pending tasks of the real payload's size whose memory on the scheduler is measured.
PENDING = 1000
QUICK_PENDING = 200
#: Seconds the cluster is left idle to measure the scheduler's and nannies' CPU per
#: worker per second (heartbeats), which a large cluster pays whatever the tasks.
IDLE_SECONDS = 10.0

#: The projection's default scale (issue 20): a 64-core cluster, 100,000 notebooks.
PROJECT_CORES = 64
PROJECT_NOTEBOOKS = 100_000
#: Bandwidth assumed for the scheduler's network link in the projection: 1 Gbit/s.
LINK_BYTES_PER_S = 125e6
#: Largest cluster the projection looks at for the crossovers.
MAX_CORES = 20_000


# ---------------------------------------------------------------------------------------
# CPU accounting


def own_cpu_seconds() -> float:
    """CPU seconds of this process (all its threads), children excluded."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


# ---------------------------------------------------------------------------------------
# The instrumented grader (a subprocess: `python -m bench.dask_throughput grader OUT ARGS`)


def grader_main(out: str, cli_args: list[str]) -> int:
    """Run `gradkit CLI_ARGS` with timers around the grader's per-notebook steps; write
    what they saw to ``out`` (JSON)."""
    from gradkit.course import grade as g
    from gradkit.course import kit as kit_module
    from gradkit.course.cli import main as cli_main

    seen: dict[str, Any] = {
        "calls": {},
        "submits": [],
        "results": [],
        "kit_bytes": 0,
        "gradkit": g.__file__,
    }

    def timed(name: str, fn):
        def wrapper(*args, **kwargs):
            w0, c0 = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                entry = seen["calls"].setdefault(name, {"n": 0, "wall": 0.0, "cpu": 0.0})
                entry["n"] += 1
                entry["wall"] += time.perf_counter() - w0
                entry["cpu"] += time.thread_time() - c0

        return wrapper

    timed_here = ("_sanitize", "_finish", "save", "save_graded", "write_text")
    needed = {g: (*timed_here, "_result", "_Executor"), kit_module: ("pack_library",)}
    missing = [
        f"{m.__name__}.{n}" for m, names in needed.items() for n in names if not hasattr(m, n)
    ]
    missing += [
        f"{g.__name__}._Executor.{n}"
        for n in ("submit", "share", "wait")
        if not hasattr(getattr(g, "_Executor", None), n)
    ]
    if missing:  # the grader changed: say what to update instead of failing halfway
        print(
            f"bench.dask_throughput: {missing[0]}, which grader_main instruments, no longer "
            "exists; update grader_main to the grader's new functions",
            file=sys.stderr,
        )
        return 2
    for name in timed_here:
        setattr(g, name, timed(name, getattr(g, name)))
    kit_module.pack_library = timed("pack_library", kit_module.pack_library)  # once a run
    executor = g._Executor
    submit, share = executor.submit, executor.share

    def counted_submit(self, payload, hard_timeout):
        sent = {k: v for k, v in payload.items() if k != "kit"}  # the kit is scattered once
        size = len(pickle.dumps(sent, protocol=pickle.HIGHEST_PROTOCOL))
        future = submit(self, payload, hard_timeout)
        seen["submits"].append({"key": str(future.key), "t": time.time(), "bytes": size})
        return future

    def counted_share(self, value):
        seen["kit_bytes"] = len(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        return share(self, value)

    executor.submit = timed("submit", counted_submit)
    executor.share = counted_share
    executor.wait = timed("wait", executor.wait)
    result = g._result

    def counted_result(future):
        outcome = result(future)
        size = len(pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))
        seen["results"].append({"key": str(future.key), "t": time.time(), "bytes": size})
        seen.setdefault("errors", []).extend([outcome["error"]] if "error" in outcome else [])
        return outcome

    g._result = counted_result
    t0 = time.perf_counter()
    code = cli_main(cli_args)
    seen["wall"] = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    seen["own_cpu"] = ru.ru_utime + ru.ru_stime
    seen["exit"] = code
    Path(out).write_text(json.dumps(seen))
    return code


# ---------------------------------------------------------------------------------------
# Tasks run on the workers (module level, so workers import them by name)


def _echo(payload: dict, out_bytes: int) -> str:
    """A no-op task: takes a payload like a real one, returns a result of ``out_bytes``."""
    return "x" * out_bytes


def _where_gradkit() -> str:
    import gradkit

    return gradkit.__file__


# ---------------------------------------------------------------------------------------
# The class


def prepare(tmp: Path, students: int) -> tuple[Path, Path]:
    """A released course of assignment 01 and ``students`` correct submissions."""
    from gradkit.course.demo import make_submission
    from gradkit.course.directory import Course

    root = tmp / "course"
    shutil.copytree(REPO / "solutions" / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    gk = [sys.executable, "-m", "gradkit", "--course", str(root)]
    for step in (["secret", "--new"], ["release", ASSIGNMENT]):
        subprocess.run([*gk, *step], check=True, capture_output=True, env=_env())
    subs = tmp / "subs"
    for k in range(students):
        make_submission(Course(root), ASSIGNMENT, subs / f"student{k:02d}", "full")
    return root, subs


def _env() -> dict[str, str]:
    bindir = str(Path(sys.executable).parent)  # nbgrader runs `alembic` by name
    return {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}


def _scores(db: Path) -> list[float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}") as gb:
        return sorted(float(s.score) for s in gb.find_assignment(ASSIGNMENT).submissions)


# ---------------------------------------------------------------------------------------
# Measurements


def _dispatch_gaps(stream: list[dict], submits: list[dict]) -> list[float]:
    """Per task after a worker's first: seconds from the later of (the end of the worker's
    previous task, the task's submission) to the start of its compute."""
    submitted = {s["key"]: s["t"] for s in submits}
    by_worker: dict[str, list[tuple[float, float, str]]] = {}
    for rec in stream:
        compute = [s for s in rec.get("startstops", ()) if s.get("action") == "compute"]
        if compute and rec.get("key") in submitted:
            start, stop = compute[0]["start"], compute[-1]["stop"]
            by_worker.setdefault(rec["worker"], []).append((start, stop, rec["key"]))
    gaps = []
    for tasks in by_worker.values():
        tasks.sort()
        for (_, prev_stop, _), (start, _, key) in zip(tasks, tasks[1:]):
            gaps.append(start - max(prev_stop, submitted[key]))
    return gaps


def _compute_seconds(stream: list[dict]) -> list[float]:
    out = []
    for rec in stream:
        compute = [s for s in rec.get("startstops", ()) if s.get("action") == "compute"]
        if compute:
            out.append(sum(s["stop"] - s["start"] for s in compute))
    return out


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds of the live process ``pid`` (all its threads, children excluded)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Cluster:
    """A scheduler process and ``workers`` single-threaded worker processes with nannies:
    what ``LocalCluster(n_workers=workers, threads_per_worker=1, processes=True)`` starts,
    except that the scheduler has a process of its own (a LocalCluster runs it in the
    caller's process, together with the nannies), so its CPU time can be read alone.
    The scheduler, the workers and all they start are in the cpuacct group ``group``."""

    def __init__(self, workers: int, tmp: Path, group: CpuGroup) -> None:
        from distributed import Client

        self.procs: list[subprocess.Popen] = []
        bindir = Path(sys.executable).parent
        tag = f"{workers}w-{secrets.token_hex(2)}"
        info = tmp / f"scheduler-{tag}.json"
        log = open(tmp / f"cluster-{tag}.log", "w")  # noqa: SIM115 - closed in close()
        self.log = log
        quiet = ["--no-dashboard"]
        self.scheduler = self._start(
            [str(bindir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0"]
            + quiet
            + ["--scheduler-file", str(info)],
            group,
        )
        for _ in range(600):
            if info.is_file() and info.stat().st_size:
                break
            time.sleep(0.1)
        self._start(
            [str(bindir / "dask"), "worker", "--scheduler-file", str(info)]
            + ["--nworkers", str(workers), "--nthreads", "1", "--no-dashboard"],
            group,
        )
        self.address = json.loads(info.read_text())["address"]
        self.client = Client(self.address, timeout="60s")
        self.client.wait_for_workers(workers, timeout=120)

    def _start(self, argv: list[str], group: CpuGroup) -> subprocess.Popen:
        # the workers import this module's tasks (_echo, _where_gradkit) by name
        path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        proc = subprocess.Popen(
            group.wrap(argv),
            cwd=REPO,
            env={**_env(), "PYTHONPATH": path},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def scheduler_cpu(self) -> float:
        return process_cpu_seconds(self.scheduler.pid)

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            for proc in reversed(self.procs):  # the workers first, then the scheduler
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
            self.log.close()


def grade_on_cluster(
    template: Path, subs: Path, workers: int, tmp: Path, quick: bool = False, extras: bool = True
) -> dict[str, Any]:
    """Grade the class on a fresh cluster of ``workers`` single-threaded workers; with
    ``extras``, then time no-op tasks and ``wait`` on the same cluster."""
    course = tmp / f"course-{workers}w-{secrets.token_hex(2)}"
    shutil.copytree(template, course)
    cluster_group, grader_group = CpuGroup("cluster"), CpuGroup("grader")
    cluster = None
    try:
        cluster = Cluster(workers, tmp, cluster_group)
        client = cluster.client
        client.get_task_stream()  # starts the scheduler's task-stream plugin
        graded_by = sorted(set(client.run(_where_gradkit).values()))
        idle = _idle_cost(cluster, cluster_group, workers)
        out = course.with_suffix(".json")
        argv = [sys.executable, "-m", "bench.dask_throughput", "grader", str(out)]
        argv += ["--course", str(course), "grade", ASSIGNMENT, "--submissions", str(subs)]
        argv += ["--dask", cluster.address, "--no-progress"]
        load0 = os.getloadavg()[0]
        c0, g0, s0 = cluster_group.seconds(), grader_group.seconds(), cluster.scheduler_cpu()
        m0, t0, wall0 = machine_busy_seconds(), time.time(), time.perf_counter()
        res = subprocess.run(
            grader_group.wrap(argv), cwd=REPO, env=_env(), capture_output=True, text=True
        )
        wall = time.perf_counter() - wall0
        machine = machine_busy_seconds() - m0
        scheduler = cluster.scheduler_cpu() - s0
        c1, g1 = cluster_group.seconds(), grader_group.seconds()
        load1 = os.getloadavg()[0]
        if res.returncode:
            raise RuntimeError(f"gradkit grade failed: {(res.stderr or res.stdout)[-400:]}")
        stream = client.get_task_stream(start=t0)
        seen = json.loads(out.read_text())
        noop = waits = memory = None
        if extras:
            tasks = QUICK_NOOP_TASKS if quick else NOOP_TASKS
            noop = _noop_tasks(cluster, cluster_group, seen, tasks)
            waits = _wait_cost(client, QUICK_WAIT_SIZES if quick else WAIT_SIZES)
            memory = _scheduler_memory(cluster, seen, QUICK_PENDING if quick else PENDING)
    finally:
        if cluster is not None:
            cluster.close()
        cluster_group.close()
        grader_group.close()
    notebooks = len(seen["results"])
    cluster_cpu = None if c0 is None or c1 is None else c1 - c0
    grader_cpu = None if g0 is None or g1 is None else g1 - g0
    gaps = _dispatch_gaps(stream, seen["submits"])
    calls = seen["calls"]

    def per_nb(*names: str, key: str = "cpu") -> float:
        return sum(calls.get(n, {}).get(key, 0.0) for n in names) / notebooks

    return {
        "workers": workers,
        "notebooks": notebooks,
        "errors": seen.get("errors", []),
        "scores": _scores(course / "gradebook.db"),
        "graded_by": graded_by,
        "grader_gradkit": seen["gradkit"],
        "load": [load0, load1],
        "wall": wall,
        "cpu": {
            "machine": machine,
            "cluster": cluster_cpu,
            "scheduler": scheduler,
            "workers": None if cluster_cpu is None else cluster_cpu - scheduler,
            "grader": grader_cpu,
            "grader_own": seen["own_cpu"],
        },
        "per_notebook": {
            "sanitize_cpu": per_nb("_sanitize"),
            "sanitize_wall": per_nb("_sanitize", key="wall"),
            "stopped_mark_cpu": per_nb("save"),
            "gradebook_cpu": per_nb("save", "save_graded"),
            "gradebook_wall": per_nb("save", "save_graded", key="wall"),
            "finish_cpu": per_nb("_finish"),  # includes save_graded and write_text
            "finish_wall": per_nb("_finish", key="wall"),
            "file_cpu": per_nb("write_text"),
            "submit_cpu": per_nb("submit"),
            "wait_wall": per_nb("wait", key="wall"),
            # the grader's serial work per notebook; _finish includes the scores' write
            # (save_graded), save is the "grading stopped" mark written before the task
            "grader_cpu": per_nb("_sanitize", "save", "submit", "_finish"),
            "grader_wall": per_nb("_sanitize", "save", "submit", "_finish", key="wall"),
        },
        "grader_once": {
            "pack_library_cpu": calls.get("pack_library", {}).get("cpu", 0.0),
            "other_cpu": (grader_cpu if grader_cpu is not None else seen["own_cpu"])
            - sum(
                calls.get(k, {}).get("cpu", 0.0)
                for k in ("_sanitize", "save", "submit", "_finish", "pack_library")
            ),
        },
        "bytes": {
            "in_mean": statistics.mean(s["bytes"] for s in seen["submits"]),
            "out_mean": statistics.mean(r["bytes"] for r in seen["results"]),
            "kit_per_worker": seen["kit_bytes"],
        },
        "compute_s": _summary(_compute_seconds(stream)),
        "dispatch_gap_s": _summary(gaps),
        "idle": idle,
        "noop": noop,
        "wait": waits,
        "scheduler_memory": memory,
    }


def _summary(xs: list[float]) -> dict[str, float] | None:
    if not xs:
        return None
    return {"n": len(xs), "mean": statistics.mean(xs), "median": statistics.median(xs)}


def _idle_cost(cluster: Cluster, group: CpuGroup, workers: int) -> dict[str, float]:
    """CPU per second of the idle cluster: the scheduler alone, and everything."""
    s0, c0, t0 = cluster.scheduler_cpu(), group.seconds(), time.perf_counter()
    time.sleep(IDLE_SECONDS)
    dt = time.perf_counter() - t0
    c1 = group.seconds()
    return {
        "scheduler_per_s": (cluster.scheduler_cpu() - s0) / dt,
        "cluster_per_s": (c1 - c0) / dt if c0 is not None and c1 is not None else float("nan"),
        "workers": workers,
    }


def _noop_tasks(cluster: Cluster, group: CpuGroup, seen: dict, n: int) -> dict[str, Any]:
    """No-op tasks with the real run's mean payload and result sizes, all submitted at once
    from this process: the scheduler's CPU and the wall time per task."""
    client = cluster.client
    size_in = int(statistics.mean(s["bytes"] for s in seen["submits"]))
    size_out = int(statistics.mean(r["bytes"] for r in seen["results"]))
    payloads = [{"nb": secrets.token_hex(size_in // 2), "k": k} for k in range(n)]
    s0, c0, m0 = cluster.scheduler_cpu(), group.seconds(), machine_busy_seconds()
    o0, t0 = own_cpu_seconds(), time.perf_counter()
    futures = [client.submit(_echo, p, size_out, pure=False) for p in payloads]
    results = client.gather(futures)
    wall = time.perf_counter() - t0
    c1 = group.seconds()
    if any(len(r) != size_out for r in results):
        raise RuntimeError("a no-op task returned the wrong result")
    del futures
    return {
        "tasks": n,
        "bytes_in": size_in,
        "bytes_out": size_out,
        "wall_per_task": wall / n,
        "scheduler_cpu_per_task": (cluster.scheduler_cpu() - s0) / n,
        "client_cpu_per_task": (own_cpu_seconds() - o0) / n,
        # scheduler, nanny, worker
        "cluster_cpu_per_task": (c1 - c0) / n if c0 is not None and c1 is not None else None,
        "machine_cpu_per_task": (machine_busy_seconds() - m0) / n,
    }


def _wait_cost(client: Any, sizes: tuple[int, ...]) -> dict[str, float]:
    """Seconds of one ``distributed.wait(FIRST_COMPLETED)`` over N pending futures (one of
    them done), as the grader calls it once per finished notebook."""
    from distributed import wait

    done = client.submit(_where_gradkit, pure=False)
    done.result()
    out = {}
    for n in sizes:
        # tasks that need a resource no worker has: they stay pending, cheaply
        pending = [
            client.submit(_where_gradkit, pure=False, resources={"absent": 1}) for _ in range(n)
        ]
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            wait([done, *pending], return_when="FIRST_COMPLETED")
            best = min(best, time.perf_counter() - t0)
        out[str(n)] = best
        client.cancel(pending)
        del pending
    return out


def _resident_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _scheduler_memory(cluster: Cluster, seen: dict, n: int) -> dict[str, float]:
    """The scheduler's resident memory per pending task of the real payload's size (tasks
    it cannot place yet, as when the grader submits faster than the workers grade)."""
    client = cluster.client
    size_in = int(statistics.mean(s["bytes"] for s in seen["submits"]))
    before = _resident_bytes(cluster.scheduler.pid)
    pending = [
        client.submit(
            _echo, {"nb": secrets.token_hex(size_in // 2)}, 1, pure=False, resources={"absent": 1}
        )
        for _ in range(n)
    ]
    client.wait_for_workers(1)  # a round trip: the scheduler has the tasks by now
    time.sleep(1.0)
    after = _resident_bytes(cluster.scheduler.pid)
    client.cancel(pending)
    return {"pending": n, "payload_bytes": size_in, "bytes_per_task": (after - before) / n}


# ---------------------------------------------------------------------------------------
# The projection


def heartbeat_interval(workers: int) -> float:
    """Seconds between two heartbeats of each worker, as the scheduler asks for them
    (``distributed.scheduler.heartbeat_interval``: no more than 200 a second in all)."""
    if workers <= 10:
        return 0.5
    if workers < 50:
        return 1.0
    if workers < 200:
        return 2.0
    return workers / 200 + 1


@dataclass(frozen=True)
class Costs:
    """What one notebook costs each part of a Dask grading run (seconds, bytes)."""

    #: CPU seconds on the workers per notebook: worker, grading process, sandboxed kernel.
    worker_cpu: float
    #: CPU seconds of the grader's one thread per notebook (sanitizing, gradebook writes,
    #: submitting, reading the result): it handles one notebook at a time.
    grader: float
    #: Scheduler CPU seconds per task (its event loop is one thread).
    scheduler_per_task: float
    #: Scheduler CPU seconds per worker heartbeat.
    scheduler_per_heartbeat: float
    #: Bytes through the scheduler per task: payload in and result out.
    bytes_per_task: float


def seconds_per_notebook(costs: Costs, cores: int, link_bytes_per_s: float) -> dict[str, float]:
    """Seconds of each part's one resource per notebook on ``cores`` single-threaded workers
    (``inf`` for a scheduler that the workers' heartbeats alone keep busy).

    The scheduler's core also serves every worker's heartbeats; every byte of a task
    crosses the scheduler's link twice (client to scheduler to worker, and back)."""
    heartbeats = cores / heartbeat_interval(cores) * costs.scheduler_per_heartbeat
    return {
        "workers' CPU": costs.worker_cpu / cores,
        "grader": costs.grader,
        "scheduler": costs.scheduler_per_task / (1 - heartbeats) if heartbeats < 1 else math.inf,
        "link": 2 * costs.bytes_per_task / link_bytes_per_s,
    }


def project(
    costs: Costs,
    cores: int = PROJECT_CORES,
    notebooks: int = PROJECT_NOTEBOOKS,
    link_bytes_per_s: float = LINK_BYTES_PER_S,
) -> dict[str, Any]:
    """Hours to grade ``notebooks`` on ``cores`` single-threaded workers if each part alone
    limited the run, and which part does: the parts work at the same time, so the run takes
    at least the largest of them. ``crossover_cores``: per part, the fewest workers whose CPU
    goes as fast as that part, i.e. from which on it is the limit (None: not below
    ``MAX_CORES``)."""
    if cores < 1 or notebooks < 1 or link_bytes_per_s <= 0:
        raise ValueError("cores and notebooks must be at least 1 and the link speed positive")
    heartbeats = cores / heartbeat_interval(cores) * costs.scheduler_per_heartbeat
    if heartbeats >= 1:
        raise ValueError(
            f"{cores} workers' heartbeats alone would keep the scheduler busy "
            f"({heartbeats:.2f} of its core)"
        )
    per_notebook = seconds_per_notebook(costs, cores, link_bytes_per_s)
    hours = {part: notebooks * s / 3600 for part, s in per_notebook.items()}
    limit = max(hours, key=lambda part: hours[part])
    crossover: dict[str, int | None] = {}
    for part in per_notebook:
        if part == "workers' CPU":
            continue
        crossover[part] = next(
            (
                n
                for n in range(1, MAX_CORES + 1)
                if (at := seconds_per_notebook(costs, n, link_bytes_per_s))[part]
                >= at["workers' CPU"]
            ),
            None,
        )
    return {
        "cores": cores,
        "notebooks": notebooks,
        "heartbeat_share": heartbeats,
        "hours": hours,
        "limit": limit,
        "notebooks_per_hour": notebooks / hours[limit],
        "crossover_cores": crossover,
    }


def costs_from(runs: list[dict[str, Any]]) -> Costs:
    """The per-notebook costs measured on the 1-worker run (which has the no-op figures);
    the heartbeat's from the run with the most workers."""
    one = next(r for r in runs if r["noop"] is not None)
    n = one["notebooks"]
    cpu = one["cpu"]
    workers_cpu = (
        cpu["workers"] if cpu["workers"] is not None else cpu["machine"] - cpu["scheduler"]
    )
    idle = max((r["idle"] for r in runs), key=lambda i: i["workers"])
    heartbeats_per_s = idle["workers"] / heartbeat_interval(idle["workers"])
    return Costs(
        worker_cpu=workers_cpu / n,
        grader=one["per_notebook"]["grader_cpu"],
        scheduler_per_task=one["noop"]["scheduler_cpu_per_task"],
        # an upper bound: the idle scheduler's own periodic work is counted as heartbeats
        scheduler_per_heartbeat=idle["scheduler_per_s"] / heartbeats_per_s,
        bytes_per_task=one["bytes"]["in_mean"] + one["bytes"]["out_mean"],
    )


# ---------------------------------------------------------------------------------------


def measure(students: int, quick: bool, rounds: int = 1) -> dict[str, Any]:
    """Grade the class on 1 and on 2 workers, back to back; with ``rounds`` > 1, in the
    order 1, 2, 2, 1, 1, 2, ... so that a change of load hits both alike."""
    from gradkit.course.sandbox import probe

    ok, why = probe()
    if not ok:
        raise RuntimeError(f"row i grades sandboxed, as by default; this machine cannot: {why}")
    order = [w for r in range(rounds) for w in (WORKER_COUNTS[:: 1 if r % 2 == 0 else -1])]
    with tempfile.TemporaryDirectory(prefix="gradkit-bench-dask-") as tmp_name:
        tmp = Path(tmp_name)
        template, subs = prepare(tmp, students)
        runs = []
        for i, w in enumerate(order):
            run = grade_on_cluster(template, subs, w, tmp, quick, extras=i == 0)
            run["round"] = i // len(WORKER_COUNTS)
            runs.append(run)
    return {"students": students, "quick": quick, "rounds": rounds, "runs": runs}


def _cpu_per_notebook(r: dict[str, Any]) -> float:
    cpu = r["cpu"]
    total = cpu["cluster"] + cpu["grader"] if cpu["cluster"] is not None else cpu["machine"]
    return total / r["notebooks"]


def rows(result: dict[str, Any]) -> list[dict]:
    out = []
    for r in result["runs"]:
        cpu = r["cpu"]
        per_core_hour = r["notebooks"] / (r["wall"] / 3600) / r["workers"]
        out.append(
            {
                "benchmark": f"i) Dask, {r['workers']} worker(s), {r['notebooks']} notebooks",
                "measured": (
                    f"{r['wall']:.0f} s wall, {per_core_hour:.0f} notebooks/h/worker; "
                    f"CPU/notebook {_cpu_per_notebook(r):.2f} s "
                    f"(grader with its start-up {(cpu['grader'] or 0) / r['notebooks']:.2f} s, "
                    f"scheduler {cpu['scheduler'] / r['notebooks'] * 1e3:.0f} ms); load "
                    f"{r['load'][0]:.1f}→{r['load'][1]:.1f}"
                ),
                "result": f"scores {sorted(set(r['scores']))}, {len(r['errors'])} errors",
                "goal": "every notebook graded",
                "met": not r["errors"] and len(set(r["scores"])) == 1,
            }
        )
    by_round: dict[int, dict[int, dict]] = {}
    for r in result["runs"]:
        by_round.setdefault(r["round"], {})[r["workers"]] = r
    pairs = [(rr[1], rr[2]) for rr in by_round.values() if 1 in rr and 2 in rr]
    speedup = statistics.mean(one["wall"] / two["wall"] for one, two in pairs)
    cpu_ratio = statistics.mean(
        _cpu_per_notebook(two) / _cpu_per_notebook(one) for one, two in pairs
    )
    p = project(costs_from(result["runs"]))
    out.append(
        {
            "benchmark": f"i) projection: {PROJECT_NOTEBOOKS} notebooks, {PROJECT_CORES} cores",
            "measured": (
                f"2 workers / 1: {speedup:.2f}× faster, {cpu_ratio:.2f}× the CPU per notebook"
            ),
            "result": f"{p['hours'][p['limit']]:.1f} h, limited by the {p['limit']}",
            "goal": "(see bench/README.md, row i)",
            "met": None,
        }
    )
    return out


def run(quick: bool = False) -> list[dict]:
    """Row i of `python -m bench`: one round (a row saying why, where it cannot run)."""
    from gradkit.course.sandbox import probe

    why = ""
    try:
        import distributed  # noqa: F401
    except ImportError:
        why = "needs the 'cluster' extra: pip install 'gradkit[cluster]'"
    ok, reason = probe()
    if not why and not ok:
        why = f"grades sandboxed, as by default; this machine cannot: {reason}"
    if why:
        row = {"benchmark": "i) Dask throughput", "measured": "not run", "result": why}
        return [{**row, "goal": "", "met": None}]
    return rows(measure(QUICK_STUDENTS if quick else STUDENTS, quick))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["grader"]:
        return grader_main(argv[1], argv[2:])
    p = argparse.ArgumentParser(prog="python -m bench.dask_throughput", description=__doc__)
    p.add_argument("--quick", action="store_true", help=f"{QUICK_STUDENTS} students: a smoke run")
    p.add_argument("--students", type=int, help=f"class size (default {STUDENTS})")
    p.add_argument("--rounds", type=int, default=1, help="1-and-2-worker pairs (default 1)")
    p.add_argument("--json", type=Path, help="also write the measurements to this file")
    args = p.parse_args(argv)
    if args.rounds < 1 or (args.students is not None and args.students < 1):
        p.error("--rounds and --students must be at least 1")
    students = args.students or (QUICK_STUDENTS if args.quick else STUDENTS)
    result = measure(students, args.quick, args.rounds)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    costs = costs_from(result["runs"])
    result["costs"] = asdict(costs)
    result["projection"] = project(costs)
    text = json.dumps(result, indent=1)
    if args.json:
        args.json.write_text(text)
    print(text)
    from .__main__ import print_table

    print_table(rows(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
