import os
import stat

import pytest

from vault.errors import NotFound
from vault.store import BlobStore


def test_put_get_delete(tmp_path):
    store = BlobStore(tmp_path / "store")
    with store.writer("clp_abcdefghijklmnop") as w:
        w.write(b"hello")
        path = w.commit()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o400
    with store.open("clp_abcdefghijklmnop") as f:
        assert f.read() == b"hello"
    assert list(store.ids()) == ["clp_abcdefghijklmnop"]
    assert store.delete("clp_abcdefghijklmnop")
    with pytest.raises(NotFound):
        store.open("clp_abcdefghijklmnop")


def test_an_uncommitted_blob_leaves_nothing_but_is_cleaned(tmp_path):
    store = BlobStore(tmp_path / "store")
    w = store.writer("clp_aaaaaaaaaaaaaaaa")
    w.write(b"partial")
    # simulate a killed writer: the temp file stays until clean_tmp
    assert list(store.ids()) == []
    assert store.clean_tmp() == 1
    assert list(store.tmp_dir.iterdir()) == []


def test_ids_are_checked(tmp_path):
    store = BlobStore(tmp_path / "store")
    with pytest.raises(NotFound):
        store.path("../../etc/passwd")
