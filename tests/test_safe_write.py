"""What gradkit writes in a course: whole files, never through a planted link."""

from __future__ import annotations

import os

import pytest

from gradkit.course.directory import UserError
from gradkit.course.safe_write import write_text


def test_a_file_is_replaced_whole_and_folders_are_made(tmp_path):
    path = tmp_path / "grades" / "01.csv"
    write_text(path, "old\n", tmp_path)
    write_text(path, "new\n", tmp_path)
    assert path.read_text() == "new\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["01.csv"]  # no temporary left


def test_a_linked_folder_on_the_way_is_refused(tmp_path):
    victim = tmp_path / "elsewhere"
    victim.mkdir()
    course = tmp_path / "course"
    course.mkdir()
    os.symlink(victim, course / "feedback")
    with pytest.raises(UserError, match="will not write below .*feedback: it is not a folder"):
        write_text(course / "feedback" / "ada" / "page.html", "<p>", course)
    assert list(victim.iterdir()) == []


def test_a_link_in_place_of_the_file_is_replaced_never_written_through(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("precious")
    os.symlink(target, tmp_path / "01.csv")
    write_text(tmp_path / "01.csv", "grades\n", tmp_path)
    assert target.read_text() == "precious"
    assert not (tmp_path / "01.csv").is_symlink()
    assert (tmp_path / "01.csv").read_text() == "grades\n"


def test_a_path_outside_the_course_is_written_atomically_too(tmp_path):
    out = tmp_path / "export" / "canvas.csv"
    write_text(out, "x\n")
    assert out.read_text() == "x\n"
