"""Atomic outputs: a destination is checked before any work, and a failed write leaves nothing behind."""

import pytest

from finscore._io import atomic_path, atomic_write_text, check_destination


def test_check_destination(tmp_path):
    new = tmp_path / "sub" / "r.pdf"
    assert check_destination(new, overwrite=False, suffix=".pdf") == new
    with pytest.raises(ValueError, match=r"must end in \.pdf, got .*r\.txt"):
        check_destination(tmp_path / "r.txt", overwrite=True, suffix=".pdf")
    old = tmp_path / "old.csv"
    old.write_text("the user's")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        check_destination(old, overwrite=False)
    assert check_destination(old, overwrite=True) == old
    for overwrite in (False, True):  # a directory is never a file destination, whatever overwrite says
        with pytest.raises(IsADirectoryError, match="is a directory; give a file path"):
            check_destination(tmp_path, overwrite=overwrite)


def test_atomic_write_replaces_only_on_success(tmp_path):
    path = tmp_path / "a.txt"
    atomic_write_text(path, "one")
    with pytest.raises(RuntimeError, match="boom"), atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert path.read_text() == "one" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError):
        atomic_write_text(tmp_path / "d", "x")
    assert list((tmp_path / "d").iterdir()) == []
