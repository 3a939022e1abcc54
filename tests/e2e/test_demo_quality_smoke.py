"""benchmarks/demo_quality.py (issue 17): a quick real report on the shipped demo runs, and its melody helpers."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"
RUNS = ROOT / "studio" / "resources" / "demo" / "runs"
sys.path.insert(0, str(BENCH))

import common  # noqa: E402


def _shipped() -> list[dict]:
    return json.loads((RUNS / "index.json").read_text())["runs"]


def test_quick_report_on_the_shipped_demos(tmp_path):
    out_json = tmp_path / "report.json"
    env = common.studio_env(tmp_path, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    # the same folder as "before" and "after": both columns must be there and agree (the report is deterministic)
    res = subprocess.run([sys.executable, str(BENCH / "demo_quality.py"), "--quick", "--old", str(RUNS),
                          "--cache", str(tmp_path / "cache"), "--json", str(out_json)],
                         capture_output=True, text=True, timeout=280, env=env, cwd=ROOT)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    obj = common.last_json(res.stdout)
    assert json.loads(out_json.read_text()) == obj
    assert obj["settings"]["quick"] is True and obj["settings"]["threads"] == 1
    names = [r["name"] for r in _shipped()]
    assert list(obj["runs"]) == names
    table = res.stdout
    assert "# Demo quality report" in table and "| figure | before | after |" in table

    def same(a: dict, b: dict) -> dict:
        return {k: v for k, v in a.items() if k not in ("dir", "seconds")} == \
            {k: v for k, v in b.items() if k not in ("dir", "seconds")}

    for name in names:
        entry = obj["runs"][name]
        after, before = entry["after"], entry["before"]
        assert "error" not in after, after
        assert same(after, before), (after, before)
        f, group = after["figures"], after["group"]
        base = obj["baselines"][group]
        assert f"## {name}" in table
        if after["modality"] == "image":
            real = base["real held-out shapes"]
            assert real["judge_accuracy"] >= 0.9 and real["kinds_covered"] == 4, real
            assert real["judge_rejects_non_shapes"] >= 0.8, real
            for figs in (f, real, base["linear-Gaussian (PCA-32)"]):
                assert 0 <= figs["judge_confidence"] <= 1 and 0 <= figs["kinds_covered"] <= 4
                assert 0 <= figs["two_sample_accuracy"] <= 1 and 0 <= figs["saturation"] <= 1
                assert figs["variety"] > 0 and abs(sum(figs["kind_shares"].values()) - 1) < 0.02
        elif after["modality"] == "melody":
            assert after["how"]
            for figs in (f, base["real held-out phrases"], base["Markov order 2"]):
                assert 0 <= figs["usable"] <= figs["melodies"] == obj["settings"]["melodies"]
                for key in ("pitch_class", "interval", "duration", "classifier_acc", "copy_rate"):
                    assert 0 <= figs[key] <= 1, (key, figs)
        elif after["modality"] == "text":
            # any trained demo language model beats a unigram count, even on 2 batches
            assert 0 < f["val_nats_per_char"] < base["unigram"]["val_nats_per_char"], (f, base)
            assert base["bigram"]["val_nats_per_char"] < base["unigram"]["val_nats_per_char"]
            assert isinstance(f["sample"], str) and len(f["sample"]) == obj["settings"]["text_chars"]
            assert f["sample"] in table
        else:
            pytest.fail(f"{name}: unexpected modality {after['modality']}")


class _ShortPhraseVAE:
    """A stand-in melody VAE writing 2-bar phrases: phrase i is one note of pitch 60 + i % 12 held for 4 steps."""

    sequence_length = 32

    def sample(self, n, seed=0, **_):
        import torch
        rows = []
        for i in range(n):
            bar = [2 + 60 + i % 12 - 36, 1, 1, 1]  # note-on (min_pitch 36), three holds
            rows.append(bar * 8)
        return torch.tensor(rows)


def test_short_phrases_are_joined_into_four_bars_and_usable_is_counted():
    import demo_quality as dq
    import melody_quality as mq

    run = {"plugin": "melody-vae", "spec": {"min_pitch": 36, "phrase_length": 32}}
    gen, how = dq.melody_samples(_ShortPhraseVAE(), run, 3, seed=0)
    assert "2 independent phrases" in how
    assert [len(g) for g in gen] == [dq.MELODY_LENGTH] * 3
    # melody 0 = phrases 0 and 3: pitches 60 for two bars, then 63 for two bars, re-encoded for melody_quality
    notes = mq.notes_of(gen[0])
    assert [n.pitch for n in notes] == [60] * 8 + [63] * 8 and all(n.duration == 4 for n in notes)
    assert dq.usable(gen[0])
    held = mq.notes_to_events([mq.Note(60, 0, 40), mq.Note(62, 40, 4)] + [mq.Note(64, 44 + 2 * k, 2) for k in range(8)],
                              dq.MELODY_LENGTH, mq.MIN_PITCH, mq.MAX_PITCH)
    assert not dq.usable(held)            # a note held 40 steps (> 2 bars)
    few = mq.notes_to_events([mq.Note(60, 8 * k, 8) for k in range(7)], dq.MELODY_LENGTH, mq.MIN_PITCH, mq.MAX_PITCH)
    assert not dq.usable(few)             # 7 notes
