"""matplotlib's font list for sandboxed kernels, kept from one grading run to the next
under a key of what it is made from (gradkit.course.fontlist)."""

from __future__ import annotations

import os

import pytest

from gradkit.course import fontlist


@pytest.fixture
def fonts(tmp_path, monkeypatch):
    """One font folder of the test's own, an empty cache of the test's own."""
    folder = tmp_path / "fonts"
    (folder / "truetype").mkdir(parents=True)
    (folder / "truetype" / "a.ttf").write_bytes(b"font a")
    monkeypatch.setattr(fontlist, "FONT_FOLDERS", (str(folder),))
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setattr("gradkit.course.kit.worker_cache", lambda: cache)
    monkeypatch.setattr(fontlist, "_built", {})
    return folder, cache


def test_the_key_changes_with_a_font_added_changed_or_removed(fonts):
    folder, _ = fonts
    first = fontlist.inputs_key()
    assert fontlist.inputs_key() == first
    (folder / "truetype" / "b.ttf").write_bytes(b"font b")
    added = fontlist.inputs_key()
    (folder / "truetype" / "b.ttf").write_bytes(b"font b, another size")
    changed = fontlist.inputs_key()
    (folder / "truetype" / "b.ttf").unlink()
    assert len({first, added, changed}) == 3
    assert fontlist.inputs_key() == first


def test_a_list_built_once_is_read_back_until_the_fonts_change(fonts, monkeypatch):
    folder, cache = fonts
    built = []

    def build(where):
        path = where / f"fonts-{len(built)}" / "fontlist-v390.json"
        path.parent.mkdir()
        path.write_text("{}")
        built.append(path)
        return path

    monkeypatch.setattr(fontlist, "_build", build)
    first = fontlist.font_list(build=True)
    assert first == built[0]
    monkeypatch.setattr(fontlist, "_built", {})  # the next run (a new process)
    assert fontlist.font_list(build=True) == first
    assert len(built) == 1
    (folder / "new.ttf").write_bytes(b"a new font")
    monkeypatch.setattr(fontlist, "_built", {})
    assert fontlist.font_list(build=True) == built[1] != first


def test_an_index_naming_a_link_or_a_file_elsewhere_is_not_followed(fonts, monkeypatch, tmp_path):
    _, cache = fonts
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text("{}")
    link = cache / "fonts-x" / "fontlist-v390.json"
    link.parent.mkdir()
    os.symlink(elsewhere, link)
    rebuilt = cache / "fonts-y" / "fontlist-v390.json"
    monkeypatch.setattr(fontlist, "_build", lambda where: rebuilt)
    index = cache / f"fonts-key-{fontlist.inputs_key()}"
    for named in (elsewhere, link):
        index.unlink(missing_ok=True)  # font_list writes its index read-only (0400)
        index.write_text(str(named))
        monkeypatch.setattr(fontlist, "_built", {})
        assert fontlist.font_list(build=True) == rebuilt
