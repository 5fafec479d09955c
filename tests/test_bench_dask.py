"""The arithmetic of bench/dask_throughput.py (row i): its projection and its task-stream reading.

No timing here: the benchmark itself is run by hand (bench/README.md).
"""

from __future__ import annotations

import math

import pytest

from bench.dask_throughput import Costs, _dispatch_gaps, heartbeat_interval, project

# Costs with round numbers: the grader's 0.25 s a notebook equals the workers' CPU at
# 4.0 / 0.25 = 16 workers.
COSTS = Costs(
    worker_cpu=4.0,
    grader=0.25,
    scheduler_per_task=0.002,
    scheduler_per_heartbeat=0.001,
    bytes_per_task=200_000,
)


def test_each_part_takes_its_share_of_the_notebooks():
    cores, notebooks, link = 8, 1000, 1e6
    p = project(COSTS, cores=cores, notebooks=notebooks, link_bytes_per_s=link)
    beats = cores / heartbeat_interval(cores) * COSTS.scheduler_per_heartbeat
    expected = {
        "workers' CPU": notebooks * COSTS.worker_cpu / cores,
        "grader": notebooks * COSTS.grader,
        "scheduler": notebooks * COSTS.scheduler_per_task / (1 - beats),
        "link": notebooks * 2 * COSTS.bytes_per_task / link,  # in and out, both via the scheduler
    }
    assert p["hours"] == pytest.approx({k: v / 3600 for k, v in expected.items()})
    assert p["limit"] == max(expected, key=lambda k: expected[k])
    assert p["notebooks_per_hour"] == pytest.approx(notebooks / p["hours"][p["limit"]])


def test_the_limit_moves_from_the_workers_to_the_grader_at_the_crossover():
    crossover = project(COSTS)["crossover_cores"]["grader"]
    assert crossover == math.ceil(COSTS.worker_cpu / COSTS.grader)
    assert project(COSTS, cores=crossover - 1)["limit"] == "workers' CPU"
    assert project(COSTS, cores=crossover + 1)["limit"] == "grader"


def test_a_scheduler_full_of_heartbeats_is_the_limit_from_where_they_fill_it():
    # 0.004 s a heartbeat: 100 workers send 50 a second (0.2 of the scheduler's core),
    # 200 workers 100 (0.4); distributed never asks for more than 200 a second (0.8).
    costs = Costs(0.5, 0.0, 0.001, scheduler_per_heartbeat=0.004, bytes_per_task=1.0)
    n = project(costs)["crossover_cores"]["scheduler"]
    assert n is not None
    at = {k: project(costs, cores=k)["hours"] for k in (n - 1, n)}
    assert at[n - 1]["scheduler"] < at[n - 1]["workers' CPU"]
    assert at[n]["scheduler"] >= at[n]["workers' CPU"]


def test_heartbeats_that_fill_the_scheduler_and_bad_input_are_refused():
    busy = Costs(1.0, 0.0, 0.001, scheduler_per_heartbeat=1.0, bytes_per_task=1.0)
    with pytest.raises(ValueError, match="heartbeats alone"):
        project(busy, cores=4)
    for bad in ({"cores": 0}, {"notebooks": 0}, {"link_bytes_per_s": 0.0}):
        with pytest.raises(ValueError, match="at least 1"):
            project(COSTS, **bad)


def test_heartbeat_interval_follows_distributed():
    scheduler = pytest.importorskip("distributed.scheduler")
    for workers in (1, 10, 11, 49, 50, 199, 200, 1000):
        assert heartbeat_interval(workers) == scheduler.heartbeat_interval(workers)


def test_dispatch_gap_counts_from_the_later_of_previous_end_and_submission():
    def task(key, worker, start, stop):
        return {
            "key": key,
            "worker": worker,
            "startstops": [
                {"action": "transfer", "start": start - 5, "stop": start - 4},
                {"action": "compute", "start": start, "stop": stop},
            ],
        }

    stream = [
        task("a", "w1", 10.0, 11.0),
        task("b", "w1", 11.25, 12.0),  # queued before a finished: gap from a's end
        task("c", "w1", 13.5, 14.0),  # submitted after b finished: gap from its submission
        task("d", "w2", 10.0, 12.0),  # first on its worker: no gap
        task("other", "w1", 20.0, 21.0),  # not one of the run's tasks
    ]
    submits = [{"key": k, "t": t} for k, t in (("a", 9.0), ("b", 9.5), ("c", 13.0), ("d", 9.0))]
    gaps = _dispatch_gaps(stream, submits)
    assert sorted(gaps) == pytest.approx(sorted([11.25 - 11.0, 13.5 - 13.0]))
