"""Run status and training events: what the engine writes to run.json and sends to hooks is typed,
and the files and JSON lines stay what they were (plain words)."""
from __future__ import annotations

import json

import pytest

from studio.core.fileio import atomic_write_json
from studio.core.training.control import send_control
from studio.core.training.engine import train
from studio.core.training.events import EVENT_TYPES, FINISHED_STATES, LIVE_STATES, EventKind, RunStatus
from studio.core.training.run_folder import RunFolder, RunFolderError, read_run
from tests.fixtures.toy_plugins import data as toy_data

FAST = {"threads": 1, "val_every": 0, "sample_every": 0, "checkpoint_every": 0, "checkpoint_minutes": 0}


def test_status_words_are_the_stable_strings_in_every_form():
    assert [s.value for s in RunStatus] == ["created", "running", "paused", "done", "stopped", "failed"]
    assert f"{RunStatus.DONE}" == str(RunStatus.DONE) == "done"
    assert json.dumps({"status": RunStatus.FAILED}) == '{"status": "failed"}'
    # a status read back from a file is a plain str: it must be found in the named sets
    assert "running" in LIVE_STATES and "stopped" in FINISHED_STATES and "created" not in FINISHED_STATES


def test_every_status_the_engine_writes_is_a_run_status_and_run_json_round_trips(tmp_path, toys, monkeypatch):
    written: list[tuple[object, bytes]] = []  # (status as held in memory, the file as written)
    original_write = RunFolder.write

    def recording_write(self):
        original_write(self)
        written.append((self.data["status"], self.run_file.read_bytes()))

    monkeypatch.setattr(RunFolder, "write", recording_write)
    run = tmp_path / "run"
    events: list[dict] = []

    def driver(ev):
        events.append(ev)
        if ev["event"] == "step" and ev["step"] == 2:
            send_control(run, lr=0.05)
        elif ev["event"] == "step" and ev["step"] == 4:
            send_control(run, "pause")
        elif ev["event"] == "status" and ev["status"] == "paused":
            send_control(run, "resume")
        elif ev["event"] == "step" and ev["step"] == 7:
            send_control(run, "stop")

    every3 = {**FAST, "val_every": 3, "sample_every": 3, "checkpoint_every": 3}
    res = train("toy-image", toy_data.image_data(), run, steps=1000, settings=every3, hooks=driver)
    assert res.status is RunStatus.STOPPED and res.step == 7
    # resumed on other data (a warning), to its end
    res = train("toy-image", toy_data.image_data(n=48), run, steps=9, resume=True, settings=FAST, hooks=events.append)
    assert res.status is RunStatus.DONE and res.ok
    res = train("toy-image", toy_data.image_data(), tmp_path / "fails", steps=5,
                settings={**FAST, "raise_at_step": 2}, hooks=events.append)
    assert res.status is RunStatus.FAILED and not res.ok

    statuses = [status for status, _ in written]
    assert all(isinstance(s, RunStatus) for s in statuses), statuses
    # each one but "created" (the engine claims a folder already running; older writers left "created")
    assert set(statuses) == set(RunStatus) - {RunStatus.CREATED}
    for status, raw in written:
        text = raw.decode("utf-8")
        assert f'"status": "{status.value}"' in text
        info = json.loads(text)
        assert type(info["status"]) is str and info["status"] == status
        again = tmp_path / "again.json"
        atomic_write_json(again, info)  # read and written back: the same bytes
        assert again.read_bytes() == raw
    assert read_run(run)["status"] == "done"

    kinds = {ev["event"] for ev in events}
    assert kinds == set(EventKind), set(EventKind) - kinds
    for ev in events:
        assert isinstance(ev["event"], EventKind), ev
        assert set(ev) == EVENT_TYPES[ev["event"]].__required_keys__, ev
        if ev["event"] in (EventKind.STATUS, EventKind.END):
            assert isinstance(ev["status"], RunStatus), ev
        json.dumps(ev)  # what `studio train --json` prints
    assert [ev["status"] for ev in events if ev["event"] == "status"] == ["paused", "running"]


def test_the_error_event_reaches_hooks_when_a_step_raises(tmp_path, toys):
    run = tmp_path / "run"
    seen: list[tuple[dict, str]] = []

    def hook(ev):
        seen.append((ev, read_run(run)["status"]))

    res = train("toy-image", toy_data.image_data(), run, steps=20,
                settings={**FAST, "checkpoint_every": 3, "raise_at_step": 5}, hooks=hook)
    assert res.status == RunStatus.FAILED
    errors = [(ev, on_disk) for ev, on_disk in seen if ev["event"] == "error"]
    assert len(errors) == 1
    error, on_disk = errors[0]
    assert error["step"] == 5 and error["error"] == "RuntimeError" and "failed on purpose" in error["message"]
    assert error["message"] == res.reason and on_disk == "failed"  # run.json said so before the event
    assert [ev["event"] for ev, _ in seen[-2:]] == ["error", "end"]
    assert seen[-1][0]["status"] == "failed"


def test_a_run_that_ends_well_sends_no_error_event(tmp_path, toys):
    events: list[dict] = []
    res = train("toy-image", toy_data.image_data(), tmp_path / "run", steps=3, settings=FAST, hooks=events.append)
    assert res.ok and [ev["event"] for ev in events].count("error") == 0


@pytest.mark.parametrize("content, words", [("{not json", "not valid JSON"), ("[1, 2]", "not a run description")])
def test_read_run_names_the_file_of_a_bad_run_json(tmp_path, content, words):
    (tmp_path / "run.json").write_text(content)
    with pytest.raises(RunFolderError, match=words) as err:
        read_run(tmp_path)
    assert str(err.value).count(str(tmp_path / "run.json")) == 1, str(err.value)
