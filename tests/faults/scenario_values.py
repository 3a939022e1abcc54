"""Scenario 9b (issue 21): hostile *values* — type-confused JSON, absurd numbers, MIDI/ABC/zip/text bombs,
a killed import, a dataset meeting a model trained on another import (see ``scenario_folders.py``).
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

from tests.faults.folder_tools import Wrong, _refused, _run_with_checkpoint, _text_dataset

# -- (13) a dataset meets a model trained on another import ----------------------------------------------------
def eval_other_import(tmp: Path):
    """(13) held-out text imported on its own (its own character table) is scored through the model's
    table: the same text scores the same as through the training import, unknown characters are counted."""
    from tests.faults.fault_helpers import fault_distribution
    from tests.fixtures.toy_plugins import data as toy_data

    ds = toy_data.write_text_dataset(tmp / "proj" / "datasets" / "t")
    _dist, env = fault_distribution(tmp / "dist")
    env["OMP_NUM_THREADS"] = "1"
    run = tmp / "proj" / "runs" / "e"
    root = Path(__file__).resolve().parents[2]
    # The same text, imported on its own with two characters the model never saw: its table numbers
    # the characters differently (sorted over another set), so unmapped ids would be nonsense.
    held = tmp / "held.txt"
    held.write_text("\u00e9\u00df" + toy_data.TEXT)
    other = tmp / "proj" / "datasets" / "held"

    def studio(*argv):
        proc = subprocess.run([sys.executable, "-m", "studio", *argv], env=env, capture_output=True, text=True,
                              timeout=240, cwd=root)
        if proc.returncode != 0:
            raise Wrong(f"studio {argv[0]} exit {proc.returncode}: {proc.stderr[-400:]}")
        return proc.stdout

    def offer():
        studio("train", "--plugin", "toy-text", "--data", str(ds), "--out", str(run), "--steps", "30",
               "--set", "threads=1", "--set", "val_every=0", "--set", "sample_every=0")
        studio("import", "text", str(held), "--out", str(other), "--val-fraction", "0", "--quiet")
        own = json.loads(studio("eval", "--run", str(run), "--data", str(ds), "--split", "train", "--json"))
        fit = json.loads(studio("eval", "--run", str(run), "--data", str(other), "--split", "train", "--json"))
        # unknown: the two letters, and the newline an import ends its text with
        if not fit["mapping"]["mapped"] or sorted(fit["mapping"]["unknown"]) != ["\n", "ß", "é"] \
                or fit["mapping"]["unknown_characters"] != 3:
            raise Wrong(f"the other import was not mapped through the model's table: {fit['mapping']}")
        a, b = own["metrics"]["bits_per_char"], fit["metrics"]["bits_per_char"]
        if abs(a - b) > 0.25 * a:
            raise Wrong(f"the same text scores {b:.3f} bits/char through another import, {a:.3f} through its own")
        return (f"mapped through the model's table: {b:.3f} vs {a:.3f} bits/char, "
                f"{fit['mapping']['unknown_characters']} unknown characters counted")
    return offer


FAST = {"threads": 1, "val_every": 0, "sample_every": 0}


def resume_on_other_import(tmp: Path):
    """(13) ``--resume`` on another import: a melody dataset with another pitch range is mapped into the
    run's event table (with a warning); images of another size are refused in words, the run untouched."""
    from studio.core.training.engine import TrainingSetupError, train
    from studio.core.training.run_folder import read_run
    from tests.fixtures.toy_plugins import data as toy_data
    from tests.fixtures.toy_plugins.bigram import melody_plugin
    from tests.fixtures.toy_plugins.image import plugin as image_plugin

    mel_run, img_run = tmp / "proj" / "runs" / "mel", tmp / "proj" / "runs" / "img"
    mel = toy_data.write_melody_dataset(tmp / "proj" / "datasets" / "mel")
    wide = toy_data.write_dataset(tmp / "proj" / "datasets" / "wide",
                                  toy_data.DataSpec("melody", phrase_length=16, min_pitch=48, max_pitch=84),
                                  toy_data.melody_tensors())
    img8 = toy_data.write_image_dataset(tmp / "proj" / "datasets" / "img8", size=8)
    img16 = toy_data.write_image_dataset(tmp / "proj" / "datasets" / "img16", size=16)

    def offer():
        train(melody_plugin, mel, mel_run, steps=2, settings=FAST)
        warnings = []
        res = train(melody_plugin, wide, mel_run, steps=4, resume=True, settings=FAST,
                    hooks=lambda ev: ev.get("event") == "warning" and warnings.append(ev["message"]))
        if not res.ok or read_run(mel_run)["data_spec"]["min_pitch"] != 60:
            raise Wrong(f"resume on another pitch range: {res.status} {res.reason}")
        train(image_plugin, img8, img_run, steps=2, settings=FAST)
        before = read_run(img_run)
        try:
            train(image_plugin, img16, img_run, steps=4, resume=True, settings=FAST)
        except TrainingSetupError as exc:
            after = read_run(img_run)
            if (after["step"], after["status"]) != (before["step"], before["status"]):
                raise Wrong("the refused resume changed the run")
            if not any("the model's" in w for w in warnings):
                raise Wrong(f"resuming on another pitch range gave no warning: {warnings}")
            return f"{exc} (melody: {'; '.join(w for w in warnings if 'the model' in w)})"
        raise Wrong("resumed an 8x8 image run on 16x16 images")
    return offer



# -- (6) MIDI primer and ABC ---------------------------------------------------------------------------------
def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def _midi(tpb: int, events: bytes) -> bytes:
    trk = events + b"\x00\xff\x2f\x00"
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, tpb) + b"MTrk" + struct.pack(">I", len(trk)) + trk


def midi_primer_far_note(tmp: Path):
    """ticks_per_beat 1, one note 0x0FFFFFFF ticks long: ~8.6 GB of events before the guard."""
    from studio.core.audio.midi import read_midi

    primer = tmp / "primer.mid"
    primer.write_bytes(_midi(1, b"\x00\x90\x3c\x40" + _vlq(0x0FFFFFFF) + b"\x80\x3c\x00"))
    return lambda: _refused(lambda: read_midi(primer))


def midi_primer_tempo_zero(tmp: Path):
    from studio.core.audio.midi import read_midi

    primer = tmp / "primer.mid"
    primer.write_bytes(_midi(96, b"\x00\xff\x51\x03\x00\x00\x00\x00\x90\x3c\x40\x60\x80\x3c\x00"))

    def offer():
        mel = read_midi(primer)
        if mel.bpm != 120.0:
            raise Wrong(f"tempo 0 gave {mel.bpm} BPM")
        return "tempo 0 ignored; 120 BPM assumed"
    return offer


def abc_huge_tune(bars: int):
    """A one-tune ABC file of ``bars`` bars of eight notes: refused by its size or note count, not parsed
    for minutes (music21's ABC parser is quadratic: 2,000 notes take 12 s, a 2.2 MB tune never ends)."""
    def build(tmp: Path):
        return _abc_offer(("X:1\nT:long\nM:4/4\nL:1/8\nK:C\n" + "CDEF GABc|\n" * bars).encode())
    return build


def _abc_offer(data: bytes):
    import music21  # noqa: F401 - imported before the clock starts (seconds under tracemalloc)

    from studio.core.datasets.music_read import MusicSkip, read_music21_melodies

    def offer():
        try:
            read_music21_melodies(data, "long.abc")
        except MusicSkip as exc:
            return str(exc)
        raise Wrong("a 2.2 MB tune was parsed")
    return offer


# -- (7) zip bomb by member count --------------------------------------------------------------------------------
def _zip_of_zeros(path: Path, members: int, size: int) -> None:
    """A zip of ``members`` deflated members of ``size`` zero bytes, written by hand (compressed once)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = comp.compress(b"\0" * size) + comp.flush()
    crc = zlib.crc32(b"\0" * size)
    central, offset = [], 0
    with open(path, "wb") as fh:
        for i in range(members):
            name = f"img{i:04d}.png".encode()
            head = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(body), size, len(name), 0)
            fh.write(head + name + body)
            central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(body), size,
                                       len(name), 0, 0, 0, 0, 0, offset) + name)
            offset += len(head) + len(name) + len(body)
        cd = b"".join(central)
        fh.write(cd + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, members, members, len(cd), offset, 0))


def zip_many_members(members: int = 300):
    def build(tmp: Path):
        from studio.core.datasets import import_dataset

        z = tmp / "many.zip"
        _zip_of_zeros(z, members, 9_900_000)

        def offer():
            try:
                res = import_dataset("image", [z], tmp / "ds", executor="inline")
            except ValueError as exc:  # nothing usable at all
                return str(exc)
            return "; ".join(s["reason"] for s in res.skipped)
        return offer
    return build


# -- (11) kill -9 of `studio import` leaves no workers behind ---------------------------------------------------
def _descendants(pid: int) -> set[int]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat[stat.rfind(")") + 2:].split()[1])
            kids.setdefault(ppid, []).append(int(entry))
    out, todo = set(), [pid]
    while todo:
        for k in kids.get(todo.pop(), []):
            if k not in out:
                out.add(k)
                todo.append(k)
    return out


def import_killed(tmp: Path):
    """SIGKILL `studio import images` while its process pool decodes: workers, forkserver and resource
    tracker must be gone within seconds (they lingered 10+ minutes)."""
    from studio.core.project_lock import pid_alive
    from tests.faults.scenario_load import write_small_images

    src = write_small_images(tmp / "imgs", 4000)

    def offer():
        proc = subprocess.Popen([sys.executable, "-m", "studio", "import", "images", str(src), "--out",
                                 str(tmp / "ds"), "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                cwd=Path(__file__).resolve().parents[2])
        helpers: set[int] = set()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(helpers) < 3 and proc.poll() is None:
            helpers = _descendants(proc.pid)
            time.sleep(0.05)
        if len(helpers) < 3:
            proc.kill()
            proc.wait()
            raise Wrong(f"the import never started its pool ({len(helpers)} helper processes)")
        time.sleep(0.5)
        helpers |= _descendants(proc.pid)
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(pid_alive(p) for p in helpers):
            time.sleep(0.2)
        left = [p for p in helpers if pid_alive(p)]
        if left:
            names = [Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ")[:80] for p in left]
            for p in left:
                os.kill(p, signal.SIGKILL)
            raise Wrong(f"{len(left)} of {len(helpers)} helper processes outlived the import by 15 s: {names}")
        return f"all {len(helpers)} helper processes (workers, forkserver, resource tracker) left by themselves"
    return offer


# -- (9) text with NULs between letters ------------------------------------------------------------------------
def text_with_nuls(tmp: Path):
    from studio.core.datasets import import_dataset

    src = tmp / "nuls.txt"
    src.write_bytes(b"abc\0def\0" * 4000)

    def offer():
        try:
            res = import_dataset("text", [src], tmp / "ds")
        except ValueError as exc:
            return str(exc)
        if res.accepted:
            raise Wrong("a file of letters and NULs was imported as text")
        return res.skipped[0]["reason"]
    return offer


# -- (10) type-confused values ---------------------------------------------------------------------------------
def control_infinity(tmp: Path):
    from studio.core.training.control import ControlPoller

    path = tmp / "control.json"
    poller = ControlPoller(path, after_seq=0)

    def offer():
        for raw in ('{"seq": Infinity, "command": "stop"}', '{"seq": NaN}', '{"seq": "7", "command": "stop"}',
                    '{"seq": 1e400}', '{"seq": [1], "command": {"x": 1}}', '{"seq": 2, "lr": "fast"}',
                    '{"seq": 2, "lr": -1}', '[1, 2]', '"stop"'):
            path.write_text(raw)
            os.utime(path, ns=(time.time_ns(), time.time_ns()))
            msg = poller.poll()
            if msg is not None:
                raise Wrong(f"{raw} was taken as a command: {msg}")
        return "ignored: not a valid control message"
    return offer


RUN_JSON_CONFUSIONS = [("plugin", "vae"), ("dataset", 3), ("step", "ten"), ("step", 1e300), ("pid", [1]),
                       ("status", 5), ("max_minutes", "x"), ("best", "yes"), ("created", "today")]


def run_json_confused(tmp: Path):
    from studio.core.training.run_folder import RunFolderError, read_run

    run = tmp / "run"
    run.mkdir()

    def offer():
        msgs = []
        for key, value in RUN_JSON_CONFUSIONS:
            (run / "run.json").write_text(json.dumps({"id": "r", "status": "done", key: value}))
            try:
                read_run(run)
            except RunFolderError as exc:
                if key not in str(exc) or "run.json" not in str(exc):
                    raise Wrong(f"the message does not name {key} and the file: {exc}")
                msgs.append(str(exc))
                continue
            raise Wrong(f"run.json with {key}={value!r} was accepted")
        return msgs[0]
    return offer


def cli_resume_confused_run(tmp: Path):
    """``studio train --resume`` on a run.json whose plugin is a string: exit 2 in words, no traceback."""
    run = tmp / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"id": "r", "status": "done", "plugin": "vae"}))

    def offer():
        proc = subprocess.run([sys.executable, "-m", "studio", "train", "--out", str(run), "--resume"],
                              capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
        if proc.returncode != 2 or "Traceback" in proc.stderr:
            raise Wrong(f"exit {proc.returncode}: {proc.stderr[-400:]}")
        return proc.stderr.strip()
    return offer


SIDECAR_CONFUSIONS = [("file", "big"), ("step", "5"), ("step", 1e300), ("metrics", [1]), ("created", "now")]


def sidecar_confused(tmp: Path):
    from studio.core.training.checkpoints import list_checkpoints

    run = _run_with_checkpoint(tmp)
    sidecar = run / "checkpoints" / "step-00000005.json"
    good = json.loads(sidecar.read_text())

    def offer():
        for key, value in SIDECAR_CONFUSIONS:
            sidecar.write_text(json.dumps({**good, key: value}))
            infos = list_checkpoints(run, include_invalid=True)
            if infos[0].valid or key not in infos[0].problem:
                raise Wrong(f"sidecar with {key}={value!r}: {infos[0].valid}, {infos[0].problem}")
        return infos[0].problem
    return offer


RECIPE_CONFUSIONS = [("format", 5), ("plugin", "vae"), ("run", ["r"]), ("checkpoint", "abc"), ("seed", "7"),
                     ("seed", 2**64), ("batch", 3), ("vector", "0.1,0.2"), ("vector", [0.1, "x"]),
                     ("sampling", "hot"), ("sampling", {"temperature": "hot"}), ("modality", 3),
                     ("privacy", "no"), ("bpm", 0)]


def recipe_confused(tmp: Path):
    from studio.core.export.provenance import make_recipe, restore_spec
    from studio.core.recipe_check import RecipeError, check_recipe

    good = make_recipe(plugin_id="vae", plugin_version="1", run_id="r", seed=3, n=4, index=1,
                       vector=[0.1, 0.2], sampling={"temperature": 0.8}, modality="image")

    def offer():
        restore_spec(check_recipe(good, "good.png"))  # the real thing passes
        msgs = []
        for key, value in RECIPE_CONFUSIONS:
            try:
                check_recipe({**good, key: value}, "dropped.png")
            except RecipeError as exc:
                if key not in str(exc) or "dropped.png" not in str(exc):
                    raise Wrong(f"the message does not name {key} and the file: {exc}")
                msgs.append(str(exc))
                continue
            raise Wrong(f"recipe with {key}={value!r} was accepted")
        return msgs[1]
    return offer


def metrics_corrupt_at_resume(tmp: Path):
    """A damaged metrics.sqlite: the trainer sets it aside and goes on; the window reads a problem, once."""
    from studio.core.training.metrics import MetricsReader, MetricsWriter

    run = tmp / "run"
    run.mkdir()
    (run / "metrics.sqlite").write_bytes(b"SQLite format 3\0" + os.urandom(4096))

    def offer():
        reader = MetricsReader(run)
        reader.poll()
        reader.poll()
        if not reader.problem:
            raise Wrong("a damaged store gave no problem to show")
        w = MetricsWriter(run)
        w.log(1, {"loss": 1.0})
        w.close()
        if not w.notes or not list(run.glob("metrics.damaged-*.sqlite")):
            raise Wrong("the damaged store was not set aside")
        return w.notes[0]
    return offer


def metrics_wrong_schema(tmp: Path):
    from studio.core.training.metrics import MetricsReader

    run = tmp / "run"
    run.mkdir()
    conn = sqlite3.connect(run / "metrics.sqlite")
    conn.execute("CREATE TABLE metrics(a TEXT)")
    conn.commit()
    conn.close()

    def offer():
        reader = MetricsReader(run)
        if reader.poll().rows or not reader.problem:
            raise Wrong("a store with other tables was read")
        return reader.problem
    return offer


def cli_absurd_numbers(tmp: Path):
    """``--minutes nan``, ``--seed 2**64``, ``--bpm 0`` / ``1e-9``: argparse refuses them in words."""
    import argparse

    from studio.cli import arg_checks

    def offer():
        msgs = []
        for check, text in ((arg_checks.positive_minutes, "nan"), (arg_checks.positive_minutes, "inf"),
                            (arg_checks.seed, str(2**64)), (arg_checks.seed, "-1"), (arg_checks.bpm, "0"),
                            (arg_checks.bpm, "1e-9"), (arg_checks.bpm, "nan")):
            try:
                check(text)
            except argparse.ArgumentTypeError as exc:
                msgs.append(str(exc))
                continue
            raise Wrong(f"{check.__name__}({text!r}) was accepted")
        proc = subprocess.run([sys.executable, "-m", "studio", "train", "--plugin", "x", "--data", "y", "--out",
                               str(tmp / "r"), "--minutes", "nan"], capture_output=True, text=True, timeout=120,
                              cwd=Path(__file__).resolve().parents[2])
        if proc.returncode != 2 or "finite" not in proc.stderr or (tmp / "r").exists():
            raise Wrong(f"studio train --minutes nan: exit {proc.returncode} {proc.stderr[-300:]}")
        return "; ".join(msgs)
    return offer


def dataset_ids_out_of_range(tmp: Path):
    import torch
    from safetensors.torch import save_file

    from studio.core.datasets import load_dataset

    ds = _text_dataset(tmp / "ds")

    def offer():
        tokens = torch.zeros(2000, dtype=torch.int64)
        tokens[5] = 999_999  # an id past the character table: once a raw IndexError at step 1
        save_file({"tokens": tokens}, str(ds / "data.safetensors"))
        return _refused(lambda: load_dataset(ds))
    return offer


# (id, attack, builder, words the message must contain, lower case)
