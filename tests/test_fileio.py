"""Atomic writes and directory replacement."""

from __future__ import annotations

import pytest

from pt_pipelines.files import atomic_path, checksum, replace_tree, write_json


def test_atomic_path_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "out.json"
    write_json(target, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == '{\n  "a": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_replace_tree_swaps_directories(tmp_path):
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "f").write_text("new")
    (tmp_path / "dst").mkdir()
    (tmp_path / "dst" / "stale").write_text("old")
    replace_tree(tmp_path / "new", tmp_path / "dst")
    assert sorted(p.name for p in (tmp_path / "dst").iterdir()) == ["f"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dst"]


def test_checksum_matches_weasel_for_files(tmp_path):
    import hashlib

    f = tmp_path / "x"
    f.write_bytes(b"abc")
    assert checksum(f) == hashlib.md5(b"abc").hexdigest()
