"""Exported files get the permissions a normal program gives them, so they can be shared."""
from __future__ import annotations

import os
import stat

import numpy as np

from studio.core.export.images import save_image
from studio.core.fileio import atomic_write_bytes


def _mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_new_files_get_0666_minus_the_umask_not_0600(tmp_path):
    from studio.core import fileio

    expected = 0o666 & ~fileio._UMASK
    out = tmp_path / "cell.png"
    save_image(np.zeros((8, 8, 3), np.uint8), out, {"plugin": "test"})
    assert _mode(out) == expected
    if fileio._UMASK == 0o022:  # the usual umask: readable by everyone, like any file a program saves
        assert _mode(out) == 0o644
    atomic_write_bytes(tmp_path / "notes.txt", b"x")
    assert _mode(tmp_path / "notes.txt") == expected


def test_replacing_a_file_keeps_its_mode(tmp_path):
    target = tmp_path / "project.json"
    target.write_bytes(b"{}")
    os.chmod(target, 0o600)  # the user made it private: it stays private
    atomic_write_bytes(target, b'{"a": 1}')
    assert _mode(target) == 0o600 and target.read_bytes() == b'{"a": 1}'
