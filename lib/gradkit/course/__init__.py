"""Course operations behind the `gradkit` command line: release, grade, feedback, check, demo."""
