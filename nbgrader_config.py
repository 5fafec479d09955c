"""nbgrader configuration of the gradkit course (read from the course root).

`gradkit release/grade/feedback` load this file themselves and add what must
not live in a file the students' kernels could read (the path of the course
secret). Plain `nbgrader` commands run from this directory use it too.
"""

c = get_config()  # noqa: F821 - provided by nbgrader

c.CourseDirectory.course_id = "gradkit"
# Instructor notebooks (solutions + tests) and the generated student versions.
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
# nbgrader's own "solution" export, renamed so it is never confused with solutions/.
c.CourseDirectory.solution_directory = "instructor_solution"
# Copy no file but the notebooks into releases and grading folders: a helper
# module beside a notebook would hand students (and their graded code) the
# instructor's files.
c.CourseDirectory.ignore = ["*"]

# Release: one-line test cells `grade("name", points=N)` become locked test
# cells (their points come from that line), and cells fenced by
# ### BEGIN SOLUTION become answer cells, before nbgrader's own steps.
# Cells tagged `claim` check the prose against the solution's outputs and are dropped.
c.GenerateAssignment.preprocessors = [
    "gradkit.course.nbgrader_plugins.DropClaimCells",
    "gradkit.course.nbgrader_plugins.MarkGradedCells",
    "nbgrader.preprocessors.IncludeHeaderFooter",
    "nbgrader.preprocessors.LockCells",
    "nbgrader.preprocessors.ClearSolutions",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.CheckCellMetadata",
    "nbgrader.preprocessors.ComputeChecksums",
    "nbgrader.preprocessors.SaveCells",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbgrader.preprocessors.ClearMarkScheme",
    "nbgrader.preprocessors.ComputeChecksums",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Solution cells get this stub.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# --- autograding -----------------------------------------------------------
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    # A duplicated graded cell is left with empty metadata; drop it instead of aborting the batch.
    "gradkit.course.nbgrader_plugins.DropEmptyNbgraderMetadata",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    # Test cells are judged in the grader's process (gradkit.course.execute).
    "gradkit.course.execute.GradkitExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# A deleted or edited test cell is restored from the gradebook and scored.
c.OverwriteCells.add_missing_cells = True
# 30 s per cell; an interrupted loop costs only its own cell, and a loop that
# ignores interrupts gets the kernel restarted (GradkitExecute) instead of
# failing the whole submission.
c.Execute.timeout = 30
c.Execute.interrupt_on_timeout = True
c.Execute.raise_on_iopub_timeout = False
# Warnings printed by correct code never cost points (checkers also capture them).
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"\w*Warning: "
# Cap what a cell can print into the autograded notebook and the feedback.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 50
