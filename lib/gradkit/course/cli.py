"""The `gradkit` command line (also `python -m gradkit`).

Instructors: release, kit, autograder, collect, grade, feedback, export, secret, demo, data.
Students: check NOTEBOOK.
A mistake the user can fix is reported as one line on stderr (exit status 2).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from .directory import UserError, find_course

__all__ = ["main"]


def _course(args):
    return find_course(args.course)


def cmd_release(args) -> int:
    from .release import release

    release(_course(args), args.assignment)
    return 0


def cmd_kit(args) -> int:
    from .kit import build_kit

    course = _course(args)
    if args.exchange and not args.course_id:
        raise UserError("--exchange needs --course-id: the nbgrader course id of the exchange")
    out = Path(args.out) if args.out else course.root / "kits" / args.assignment
    report = build_kit(course, args.assignment, out)
    for line in report.lines():
        print(line)
    if args.exchange:
        from .exchange import release as exchange_release

        where = exchange_release(out, Path(args.exchange), args.course_id, args.assignment)
        print(f"released into nbgrader's exchange: {where}")
    return 0


def cmd_autograder(args) -> int:
    from .autograder import build

    course = _course(args)
    out = Path(args.out) if args.out else course.root / "autograders" / args.platform
    options: dict = {}
    if args.platform == "gradescope":
        options["hidden"] = args.hidden_visibility
    if args.platform in ("gradescope", "prairielearn"):
        options["allow_unsandboxed"] = args.allow_unsandboxed
    elif args.allow_unsandboxed:
        raise UserError("--allow-unsandboxed goes with --platform gradescope or prairielearn")
    for path in build(
        course, course.require_assignment(args.assignment), args.platform, out, **options
    ):
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        print(f"wrote {path} ({sum(p.stat().st_size for p in files) / 1024:.0f} KiB)")
    return 0


def cmd_secret(args) -> int:
    course = _course(args)
    if args.new:
        print(f"wrote a new course secret to {course.new_secret()}; back it up, never commit it")
    else:
        print(f"course secret: {course.require_secret()}")
    return 0


def _roster(args):
    from .students import read_roster

    return read_roster(args.roster) if args.roster else None


def _notes(rows: list[dict]) -> None:
    """What keeps the grades from being final: missing students, answers awaiting a grader."""
    from .report import MISSING, pending_summary

    absent = [r["name"] or r["student"] for r in rows if r["status"] == MISSING]
    if absent:
        shown = "; ".join(absent[:5]) + ("; …" if len(absent) > 5 else "")
        who = "student" if len(absent) == 1 else "students"
        print(f"{len(absent)} {who} of the roster submitted nothing ({shown})")
    waiting = pending_summary(rows)
    if waiting:
        print(f"not final: {waiting}; the totals leave them out until they are graded")


def cmd_grade(args) -> int:
    from .grade import grade
    from .report import export_csv, format_table, scores
    from .results import GRADED

    course = _course(args)
    roster = _roster(args)  # a bad roster stops before any grading
    if args.no_sandbox:
        print(
            "gradkit: warning: grading WITHOUT the sandbox: student code runs as you, with your "
            "network, and can read and write every file you can (the course, the gradebook, "
            "other students' work)",
            file=sys.stderr,
        )
    profile: dict | None = {} if args.profile else None
    records = grade(
        course,
        args.assignment,
        Path(args.submissions),
        timeout=args.timeout,
        progress=not args.no_progress,
        jobs=args.jobs,
        sandbox=not args.no_sandbox,
        dask=args.dask,
        force=args.force,
        students=args.student or None,
        roster=roster,
        notify=lambda line: print(f"gradkit: note: {line}", file=sys.stderr),
        profile=profile,
    )
    if profile is not None:
        from .profile import table

        print(table(profile))
    rows = scores(course, args.assignment)
    print(format_table(rows, course.notebooks(args.assignment)))
    csv_path = export_csv(
        course, args.assignment, course.root / "grades" / f"{args.assignment}.csv"
    )
    print(f"grades written to {csv_path}")
    _notes(rows)
    stale = sorted(s for s in records if (course.root / "feedback" / s / args.assignment).is_dir())
    if stale:  # pages written before this run must not contradict it
        from .report import write_feedback

        write_feedback(course, args.assignment, students=stale)
        print(f"feedback refreshed for {len(stale)} student{'s' if len(stale) > 1 else ''}")
    for student, mine in sorted(records.items()):
        for notebook, record in sorted(mine.items()):
            if record.status != GRADED:
                print(f"{student}/{notebook}: {record.status}: {record.note}", file=sys.stderr)
    return 0


def cmd_collect(args) -> int:
    from .exchange import collect

    collect(Path(args.exchange), args.course_id, args.assignment, Path(args.to), log=print)
    return 0


def cmd_doctor(args) -> int:
    from .sandbox import doctor, limit_report

    rows = doctor()
    limits = limit_report()
    width = max(len(what) for what, _, _ in [*rows, *limits, ("Validate runs gradkit check", 0, 0)])
    for what, ok, detail in rows:
        print(f"{'ok  ' if ok else 'FAIL'}  {what.ljust(width)}  {detail}")
    sandbox = all(ok for _, ok, _ in rows)
    print(
        "this machine can grade in the sandbox"
        if sandbox
        else "this machine cannot sandbox kernels: `gradkit grade` will refuse unless --no-sandbox"
    )
    if sandbox:
        print("limits of each sandboxed kernel:")
        for what, ok, detail in limits:
            print(f"{'ok  ' if ok else 'NO  '}  {what.ljust(width)}  {detail}")
    from .autograder.isolation import describe

    print("a platform's autograder (gradkit autograder) in a container like this machine:")
    for platform, sandboxed, detail in describe():
        print(f"{'ok  ' if sandboxed else 'NO  '}  {platform.ljust(width)}  {detail}")
    from .jupyter import extension_enabled

    enabled, where = extension_enabled()
    print("JupyterLab:")
    print(f"{'ok  ' if enabled else 'NO  '}  {'Validate runs gradkit check'.ljust(width)}  {where}")
    return 0 if sandbox else 1


def cmd_report(args) -> int:
    from .class_report import write_class_report
    from .report import scores

    course = _course(args)
    assignment = course.require_assignment(args.assignment)
    out = Path(args.output) if args.output else course.root / "reports" / f"{assignment}.html"
    print(f"class report written to {write_class_report(course, assignment, out)}")
    _notes(scores(course, assignment))
    return 0


def cmd_export(args) -> int:
    from .report import export_canvas_csv, export_csv, scores

    course = _course(args)
    assignment = course.require_assignment(args.assignment)
    if not args.canvas and (args.canvas_column is not None or args.allow_pending):
        raise UserError("--canvas-column and --allow-pending go with --canvas")
    roster = _roster(args)
    suffix = "-canvas" if args.canvas else ""
    default = course.root / "grades" / f"{assignment}{suffix}.csv"
    out = Path(args.output) if args.output else default
    if args.canvas:
        written = export_canvas_csv(
            course, assignment, out, roster, args.canvas_column, args.allow_pending
        )
    else:
        written = export_csv(course, assignment, out, roster)
    print(f"grades written to {written}")
    _notes(scores(course, assignment, roster))
    return 0


def cmd_feedback(args) -> int:
    from .report import write_feedback

    course = _course(args)
    pages = write_feedback(course, course.require_assignment(args.assignment))
    print(f"wrote {len(pages)} feedback pages under {course.root / 'feedback'}")
    return 0


def cmd_check(args) -> int:
    from .selfcheck import check_notebook, verdict_lines

    results = check_notebook(
        Path(args.notebook), timeout=args.timeout, practice=not args.public_only
    )
    for line in verdict_lines(results, verbose=args.verbose):
        print(line)
    total = sum(r.score for r in results)
    possible = sum(r.points for r in results)
    return 0 if total >= possible else 1


def cmd_demo(args) -> int:
    from .demo import run_demo

    if args.dir:
        run_demo(Path(args.dir))
    else:
        with tempfile.TemporaryDirectory(prefix="gradkit-demo-") as tmp:
            run_demo(Path(tmp))
            print("(the demo course was temporary; pass --dir DIR to keep it)")
    return 0


def cmd_train(args) -> int:
    from .train import train_digits_demo

    res = train_digits_demo(Path(args.out), seed=args.seed, quick=args.quick)
    print(
        f"FullyConnectedNet on the embedded digits: train {res['train_acc']:.3f}, "
        f"val {res['val_acc']:.3f} (best epoch), {res['final_val_acc']:.3f} (last epoch), "
        f"{res['epochs']} epochs in {res['seconds']:.1f} s"
    )
    print(f"loss and accuracy curves: {res['plot']}")
    return 0


def cmd_data(args) -> int:
    from ..data.download import DownloadError, download_cifar10

    try:
        folder = download_cifar10(args.dir, progress=not args.no_progress)
    except DownloadError as exc:
        raise UserError(str(exc)) from None
    print(f"CIFAR-10 python batches in {folder}")
    print(f"load them with gradkit.data.load_cifar10({str(folder)!r})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gradkit", description="gradkit course tools")
    p.add_argument(
        "--course", help="course directory (default: the one containing the current directory)"
    )
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("release", help="generate assignments/ from solutions/ (nbgrader)")
    s.add_argument("assignment", nargs="?", help="one assignment (default: all)")
    s.set_defaults(func=cmd_release)

    s = sub.add_parser(
        "kit",
        help="build what students of an assignment receive: notebooks and a library "
        "without the answers",
    )
    s.add_argument("assignment")
    s.add_argument("--out", help="the kit's folder (default: kits/ASSIGNMENT in the course)")
    s.add_argument(
        "--exchange", help="also release the kit into this nbgrader exchange root (JupyterHub)"
    )
    s.add_argument("--course-id", help="nbgrader course id in the exchange (with --exchange)")
    s.set_defaults(func=cmd_kit)

    from .autograder import PLATFORMS

    s = sub.add_parser(
        "autograder",
        help="write what Gradescope, PrairieLearn (grading like `grade`) or GitHub Classroom "
        "(the kit and a workflow running `check`) runs",
    )
    s.add_argument("assignment")
    s.add_argument("--platform", required=True, choices=PLATFORMS)
    s.add_argument("--out", help="where to write it (default: autograders/PLATFORM in the course)")
    s.add_argument(
        "--hidden-visibility",
        default="after_published",
        choices=("visible", "hidden", "after_due_date", "after_published"),
        help="Gradescope: when students see their hidden cases' results",
    )
    s.add_argument(
        "--allow-unsandboxed",
        action="store_true",
        help="Gradescope, PrairieLearn: where the container cannot sandbox, grade anyway "
        "(student code then runs as the grader's user and can read and forge; the results "
        "say so) instead of scoring 0 with the reason",
    )
    s.set_defaults(func=cmd_autograder)

    s = sub.add_parser(
        "secret", help="show, or create with --new, the course secret for hidden tests"
    )
    s.add_argument("--new", action="store_true")
    s.set_defaults(func=cmd_secret)

    s = sub.add_parser("grade", help="autograde submissions into the gradebook")
    s.add_argument("assignment")
    s.add_argument(
        "--submissions", required=True, help="folder with one sub-folder per student, or an LMS zip"
    )
    s.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds per cell (default from nbgrader_config.py)",
    )
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=None,
        help="notebooks graded at once (default: the number of cores)",
    )
    s.add_argument(
        "--dask",
        metavar="SCHEDULER_ADDRESS",
        help="grade on a dask.distributed cluster (needs the 'cluster' extra)",
    )
    s.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run students' kernels without the sandbox (they can then read your files)",
    )
    s.add_argument("--force", action="store_true", help="regrade unchanged submissions too")
    s.add_argument(
        "--profile",
        action="store_true",
        help="print where each notebook's CPU and wall seconds go (kernel start, imports, "
        "student cells, bridge calls, the grader's spec work, ...), and their class sums",
    )
    s.add_argument(
        "--student", action="append", help="grade only this student (repeat for several)"
    )
    s.add_argument(
        "--roster",
        metavar="FILE",
        help="Canvas's gradebook export (CSV): names, SIS ids, sections; its students "
        "without a submission are listed as missing (stored for later exports)",
    )
    s.set_defaults(func=cmd_grade)

    s = sub.add_parser(
        "collect",
        help="copy each student's latest submission out of nbgrader's exchange "
        "into DIR/<student>/ASSIGNMENT/ (what `grade --submissions DIR` reads)",
    )
    s.add_argument("assignment")
    s.add_argument(
        "--exchange", required=True, metavar="DIR", help="nbgrader's exchange (c.Exchange.root)"
    )
    s.add_argument(
        "--course-id", required=True, metavar="ID", help="the course id students submit to"
    )
    s.add_argument(
        "--to", required=True, metavar="DIR", help="where to put the submissions, e.g. submitted/"
    )
    s.set_defaults(func=cmd_collect)

    s = sub.add_parser("doctor", help="report whether this machine can sandbox students' kernels")
    s.set_defaults(func=cmd_doctor)

    s = sub.add_parser(
        "report", help="write the class report: scores per test and the most frequent mistakes"
    )
    s.add_argument("assignment")
    s.add_argument("-o", "--output", help="HTML file (default: reports/ASSIGNMENT.html)")
    s.set_defaults(func=cmd_report)

    s = sub.add_parser("feedback", help="write an HTML feedback page per student and notebook")
    s.add_argument("assignment")
    s.set_defaults(func=cmd_feedback)

    s = sub.add_parser("export", help="write the grades of an assignment as CSV")
    s.add_argument("assignment")
    s.add_argument("-o", "--output")
    s.add_argument(
        "--canvas", action="store_true", help="in the layout Canvas's gradebook import reads"
    )
    s.add_argument(
        "--canvas-column",
        metavar="TITLE",
        help="header of the assignment column (default: the assignment's name); Canvas "
        "updates the assignment whose id is in 'Name (12345)' or whose title is TITLE, "
        "and creates a new one otherwise",
    )
    s.add_argument(
        "--allow-pending",
        action="store_true",
        help="with --canvas: export even while answers await hand grading in formgrader",
    )
    s.add_argument(
        "--roster",
        metavar="FILE",
        help="Canvas's gradebook export (CSV) to use instead of the one `grade --roster` stored",
    )
    s.set_defaults(func=cmd_export)

    s = sub.add_parser(
        "check", help="self-check a notebook the way the autograder will (exit 1 on failure)"
    )
    s.add_argument("notebook")
    s.add_argument("--timeout", type=float, default=30)
    s.add_argument("-v", "--verbose", action="store_true", help="show passing checks too")
    s.add_argument(
        "--public-only",
        action="store_true",
        help="skip the practice cases (random cases drawn like your hidden ones)",
    )
    s.set_defaults(func=cmd_check)

    s = sub.add_parser(
        "train",
        help="train the reference FullyConnectedNet on the embedded digits, save its curves",
    )
    s.add_argument(
        "--out", default="demo-output", help="folder for digits_training.png (default: demo-output)"
    )
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--quick", action="store_true", help="5 epochs instead of 30")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser(
        "data",
        help="download a data set (cifar10: the official archive, MD5-verified, unpacked)",
    )
    s.add_argument("dataset", choices=["cifar10"])
    s.add_argument(
        "--dir",
        help="where to put it (default: $GRADKIT_DATA or ~/.gradkit/data); "
        "a broken download resumes from there",
    )
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_data)

    s = sub.add_parser("demo", help="release, grade and give feedback on three sample submissions")
    s.add_argument(
        "--dir", help="keep the demo course in this directory (new, empty, or an earlier demo's)"
    )
    s.set_defaults(func=cmd_demo)
    return p


#: What a student kit's `gradkit` does; the rest needs the instructor's full library.
KIT_COMMANDS = {"check", "doctor"}


def main(argv=None) -> int:
    from .lazyimports import defer_iri_grammar

    defer_iri_grammar()  # before anything imports nbformat (see gradkit.course.lazyimports)
    args = build_parser().parse_args(argv)
    try:
        kit = None
        if args.command not in KIT_COMMANDS:  # check starts its kernel before such imports
            from ..grading.replay import installed_kit

            kit = installed_kit()
        if kit is not None:
            raise UserError(
                f"this gradkit is the student kit of {kit.assignment}: `gradkit {args.command}` "
                "runs in the instructor's repository (students: gradkit check NOTEBOOK)"
            )
        return args.func(args)
    except UserError as exc:
        print(f"gradkit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gradkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
