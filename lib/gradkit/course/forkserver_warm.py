"""Done once in the fork server of the grading processes, before any notebook is graded.

:mod:`gradkit.course.isolate` forks one process per notebook from a fork server that
imports this module first. What is done here is inherited by every grading process
instead of being redone in each:

* every spec module and the library code they reference (``all_specs()``), which a
  grading process otherwise imports (and, without ``.pyc`` files, compiles) when it
  reaches its first test cell, the library's fingerprint that names the outcome cache's
  folder (:mod:`gradkit.grading.outcome_cache`), nbformat's compiled notebook
  validator, and IPython's package, which jupyter_client imports to find the kernel's
  spec (for IPython's own kernel folder) each time a grading process starts a kernel
  (0.06 CPU s a notebook);
* the sandbox probe (a sandboxed Python started once), when the grading run asked for
  the sandbox (:data:`~gradkit.course.isolate.PROBE_ENV`) and has not probed it itself
  (a Dask worker's fork server): a grading process refuses to run a sandboxed notebook
  on a machine that cannot sandbox (:func:`gradkit.course.pipeline.execute_notebook`),
  and keeps the answer per process; then matplotlib's font list, which every sandboxed
  kernel reads instead of building its own (:func:`gradkit.course.fontlist.font_list`,
  kept from one run to the next), and whether ``setpriv`` can tie each sandbox to its
  grader (:func:`gradkit.course.lifeline.guard_available`).

What a grading process does not use is not imported: nbgrader's package code (its
Jupyter server extensions, every preprocessor, the gradebook's SQLAlchemy) stays out,
only the three preprocessors grading uses are imported
(:func:`~gradkit.course.lazyimports.defer_nbgrader_package`, 0.5 CPU s per run).

Last, ``gc.freeze()``: the collector of a forked process then leaves all of this alone,
instead of walking (and so copying, page by page) the fork server's whole heap.

Nothing here depends on a student: it runs before the first notebook, so every grading
process starts from the same state.
"""

from __future__ import annotations

import os

from .lazyimports import defer_iri_grammar, defer_nbgrader_package

defer_iri_grammar()
defer_nbgrader_package()


def warm() -> None:
    """Load the specs and, when asked (:data:`~gradkit.course.isolate.PROBE_ENV`), probe the
    sandbox. A failure is left for each grading process to meet and report: the fork
    server must start whatever happens here."""
    import gc

    import nbformat
    from nbformat.v4 import new_notebook

    from ..grading.outcome_cache import library_fingerprint
    from ..grading.specs import all_specs
    from .fontlist import font_list
    from .isolate import PROBE_ENV, PROBED
    from .lifeline import guard_available
    from .pipeline import _sandbox_here

    try:
        all_specs()
        library_fingerprint()  # of the code imported here, which every grading process runs
        nbformat.validate(new_notebook())
        import IPython.paths  # noqa: F401 - what finding a kernel spec imports

        if os.environ.get(PROBE_ENV) in ("1", PROBED) and _sandbox_here()[0]:
            font_list(build=True)
            guard_available()  # a setpriv started once, not once per notebook
    except Exception:  # noqa: BLE001 - redone, and reported, per notebook
        pass
    gc.freeze()


warm()
