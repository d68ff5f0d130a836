"""vault.fsutil: the one home of atomic writes, durable renames and no-follow opens."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from vault.fsutil import (
    AtomicFile,
    atomic_writer,
    open_regular,
    read_regular,
    replace_durably,
    unlink_durably,
)


def test_an_atomic_file_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"old")
    pending = AtomicFile(target)
    pending.file.write(b"new")
    assert target.read_bytes() == b"old"
    assert pending.commit() == target and pending.committed
    assert target.read_bytes() == b"new"
    assert sorted(os.listdir(tmp_path)) == ["f"]


def test_an_aborted_file_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), atomic_writer(tmp_path / "f") as f:
        f.write(b"half")
        raise RuntimeError("killed")
    assert os.listdir(tmp_path) == []


def test_a_temp_folder_and_read_only(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    pending = AtomicFile(tmp_path / "blob", readonly=True, tmp_dir=tmp)
    assert pending.tmp_path.parent == tmp
    pending.file.write(b"x")
    pending.commit()
    assert (tmp_path / "blob").stat().st_mode & 0o777 == 0o400
    assert os.listdir(tmp) == []


def test_durable_rename_and_removal(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"a")
    replace_durably(tmp_path / "a", tmp_path / "b")
    assert (tmp_path / "b").read_bytes() == b"a" and not (tmp_path / "a").exists()
    assert unlink_durably(tmp_path / "b") is True
    assert unlink_durably(tmp_path / "b") is False


def test_open_regular_refuses_links_fifos_and_devices(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"data")
    (tmp_path / "link").symlink_to(tmp_path / "file")
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(OSError) as exc:
        open_regular(tmp_path / "link")
    assert exc.value.errno == errno.ELOOP
    for path in (tmp_path / "fifo", Path("/dev/zero")):
        with pytest.raises(OSError) as exc:
            open_regular(path, follow_symlinks=True)
        assert exc.value.errno == errno.EINVAL
    with pytest.raises(OSError) as exc:
        read_regular(tmp_path / "file", 3)
    assert exc.value.errno == errno.EFBIG


def test_open_regular_beneath_a_folder_descriptor(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"data")
    (tmp_path / "link").symlink_to(tmp_path / "file")
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with open_regular("file", dir_fd=fd) as f:
            assert f.read() == b"data"
        with pytest.raises(OSError) as exc:
            open_regular("link", dir_fd=fd)
        assert exc.value.errno == errno.ELOOP
    finally:
        os.close(fd)
