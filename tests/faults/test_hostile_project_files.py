"""Hostile project files: each is refused in words, in bounded time and memory, and leaves no lock behind."""
from __future__ import annotations

import json
import os
import time
import tracemalloc
from pathlib import Path

import pytest

from studio.core.project import PROJECT_FILE, Project
from studio.core.project_lock import LOCK_FILE
from studio.core.project_schema import MAX_DEPTH, MAX_PROJECT_BYTES, ProjectError
from studio.core.project_store import AUTOSAVE_FILE, ProjectSession

TIME_LIMIT_S = 5.0           # generous for a loaded 2-core CI machine; typical is well under 0.5 s
MEMORY_LIMIT = 400 * 2**20   # Python-level peak while refusing a 32 MiB file


def _valid() -> dict:
    return {"schema_version": 2, "name": "ok", "created": 1.0, "datasets": [], "runs": [], "bookmarks": [],
            "paths": [], "ui": {}, "labels": {}, "trash": []}


def _with(**changes) -> bytes:
    d = _valid()
    d.update(changes)
    return json.dumps(d).encode()


def _deep(n: int) -> bytes:
    return b'{"name": "x", "ui": ' + b"[" * n + b"]" * n + b"}"


# (id, how to write project.json, words the refusal must contain)
CASES = [
    ("nested-a-million-deep", lambda p: p.write_bytes(b"[" * 1_000_000), "nested"),
    ("nested-object-deep", lambda p: p.write_bytes(b'{"a":' * 200_000 + b"1" + b"}" * 200_000), "nested"),
    ("nested-just-past-the-limit", lambda p: p.write_bytes(_deep(MAX_DEPTH)), "nested"),
    ("brackets-inside-strings-are-fine-but-type-wrong",
     lambda p: p.write_bytes(_with(name="[[[[" * 100, datasets=5)), "'datasets' should be a list"),
    ("sparse-2GB", lambda p: _sparse(p, 2 * 2**30), "MiB"),
    ("just-over-the-size-limit", lambda p: _sparse(p, MAX_PROJECT_BYTES + 1), "refused"),
    ("nul-bytes", lambda p: p.write_bytes(b'{"name": "a\x00b"}'), "NUL"),
    ("escaped-nul-in-a-name", lambda p: p.write_bytes(_with(name="a\u0000b")), "NUL character"),
    ("newline-in-a-dataset-ref", lambda p: p.write_bytes(_with(datasets=["data\nsets/x"])), "control characters"),
    ("not-utf8", lambda p: p.write_bytes(b'{"name": "\xff\xfe"}'), "UTF-8"),
    ("not-json", lambda p: p.write_text("name = 'toml?'"), "not valid JSON"),
    ("truncated", lambda p: p.write_bytes(_with()[:-20]), "not valid JSON"),
    ("top-level-list", lambda p: p.write_text("[1, 2, 3]"), "expected a JSON object, found a list"),
    ("newer-schema", lambda p: p.write_bytes(_with(schema_version=99)), "newer Generative Studio"),
    ("schema-as-text", lambda p: p.write_bytes(_with(schema_version="2")), "schema_version"),
    ("name-is-a-list", lambda p: p.write_bytes(_with(name=[1, 2])), "project name should be text"),
    ("dataset-ref-is-a-number", lambda p: p.write_bytes(_with(datasets=["ok", 7])), "'datasets' item 2"),
    ("bookmark-is-text", lambda p: p.write_bytes(_with(bookmarks=["smile"])), "'bookmarks' item 1"),
    ("ui-is-a-list", lambda p: p.write_bytes(_with(ui=[])), "'ui' should be an object"),
    ("created-is-infinite", lambda p: p.write_bytes(_with(created=1e999)), "time stamp"),
    ("huge-integer", lambda p: p.write_bytes(b'{"name": "x", "created": ' + b"9" * 100_000 + b"}"),
     "cannot be read"),
    ("huge-name", lambda p: p.write_bytes(_with(name="x" * 100_000)), "characters long"),
    ("dev-zero", lambda p: p.symlink_to("/dev/zero"), "not a regular file"),
    ("fifo", lambda p: os.mkfifo(p), "not a regular file"),
    ("a-folder", lambda p: p.mkdir(), "not a regular file"),
]


def _sparse(path: Path, size: int) -> None:
    with open(path, "wb") as fh:
        fh.truncate(size)  # takes no disk space


@pytest.mark.parametrize("make,words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_project_json_is_refused_in_words_bounded(tmp_path, make, words):
    folder = tmp_path / "p"
    folder.mkdir()
    path = folder / PROJECT_FILE
    make(path)
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(ProjectError) as err:
            ProjectSession.open(folder)
    finally:
        elapsed = time.perf_counter() - t0
        _size, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    message = str(err.value)
    assert words in message, message
    assert str(path) in message or str(folder) in message, f"the message should name the file: {message}"
    assert len(message) < 600, "one readable message, not a dump of the file"
    assert elapsed < TIME_LIMIT_S, f"took {elapsed:.1f} s"
    assert peak < MEMORY_LIMIT, f"peak {peak / 2**20:.0f} MiB"
    assert not (folder / LOCK_FILE).exists(), "a refused open must not leave the project locked"


def test_a_large_but_legitimate_project_still_opens(tmp_path):
    p = Project.create(tmp_path / "p")
    p.bookmarks = [{"name": f"b{i}", "z": [0.123456] * 512} for i in range(1000)]
    p.save()
    t0 = time.perf_counter()
    again = Project.open(p.folder)
    assert len(again.bookmarks) == 1000 and time.perf_counter() - t0 < TIME_LIMIT_S


@pytest.mark.parametrize("content", [b"[" * 500_000, b"\x00\x01\x02", _with(datasets={"a": 1}),
                                     _with(schema_version=99)])
def test_a_hostile_autosave_is_set_aside_and_the_project_opens(tmp_path, content):
    proj = Project.create(tmp_path / "p", name="Fine")
    (proj.folder / AUTOSAVE_FILE).write_bytes(content)
    s = ProjectSession.open(proj.folder)
    try:
        assert s.project.name == "Fine" and s.recovery is None
        assert s.notes and "set aside" in s.notes[0]
        assert not (proj.folder / AUTOSAVE_FILE).exists()
        assert list(proj.folder.glob("project.autosave.broken-*.json"))
    finally:
        s.close()


def test_a_hostile_lock_file_is_treated_as_stale(tmp_path):
    proj = Project.create(tmp_path / "p")
    (proj.folder / LOCK_FILE).write_bytes(b"{" * 1_000_000)
    ProjectSession.open(proj.folder).close()
    (proj.folder / LOCK_FILE).write_text(json.dumps({"pid": "1; rm -rf /", "hostname": 5}))
    ProjectSession.open(proj.folder).close()
    assert not (proj.folder / LOCK_FILE).exists()


def test_a_broken_backup_is_refused_before_anything_is_touched(tmp_path):
    proj = Project.create(tmp_path / "p", name="Current")
    bad = proj.folder / ".backups" / "project-29990101-000000-000000.json"
    bad.write_bytes(b"[" * 100_000)
    with pytest.raises(ProjectError, match="nested"):
        ProjectSession.open_backup(proj.folder, bad)
    assert Project.open(proj.folder).name == "Current"
    assert not (proj.folder / LOCK_FILE).exists()


def test_a_corrupt_project_reopens_from_its_backup_and_is_set_aside(tmp_path):
    proj = Project.create(tmp_path / "p", name="Good")
    proj.bookmarks.append({"name": "keep me"})
    proj.save()
    (proj.folder / PROJECT_FILE).write_bytes(b'{"name": "Good", "bookmarks": [')  # torn by a bad disk
    with pytest.raises(ProjectError, match="not valid JSON"):
        ProjectSession.open(proj.folder)
    newest = proj.folder / ".backups"
    s = ProjectSession.open_backup(proj.folder, sorted(newest.glob("project-*.json"))[-1])
    assert s.project.bookmarks == [{"name": "keep me"}]
    aside = list(proj.folder.glob("project.set-aside-*.json"))
    assert aside and aside[0].read_bytes().endswith(b"[")
    s.close()
