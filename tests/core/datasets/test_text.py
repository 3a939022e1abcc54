"""Text importer: encodings detected (and said), binary/NUL/huge-line files skipped, vocab + split stored."""
from __future__ import annotations

import json

import pytest

from studio.core.datasets import load_dataset
from studio.core.datasets.text import TextSkip, decode_text, import_text
from tests.core.datasets.corpus import write_text_corpus


def test_corpus_every_file_accounted_with_reasons(tmp_path):
    src = tmp_path / "src"
    expect = write_text_corpus(src)
    res = import_text([src], tmp_path / "ds")
    acc = {p.rsplit("/", 1)[1] for p in res.accepted}
    skipped = {s["path"].rsplit("/", 1)[1]: s["reason"] for s in res.skipped}
    assert acc | set(skipped) == set(expect)
    for rel, why in expect.items():
        if why is None:
            assert rel in acc, (rel, skipped.get(rel))
        else:
            assert rel in skipped and why.lower() in skipped[rel].lower(), (rel, skipped.get(rel))
    assert "5,242,880 characters" in skipped["one_line.txt"]
    notes = {w["path"].rsplit("/", 1)[1]: w["message"] for w in res.warnings}
    assert "Windows-1252" in notes["cp1252.txt"] and "UTF-8" in notes["cp1252.txt"]
    assert "Latin-1" in notes["latin1.txt"]
    assert "UTF-16-BE" in notes["utf16be_nobom.txt"]
    # UTF-8/BOM files decode silently; the small test corpus also gets the dataset's size note
    assert set(notes) == {"cp1252.txt", "latin1.txt", "utf16be_nobom.txt", "ds"}
    assert "too few to train a text model" in notes["ds"]
    enc = res.stats["encodings"]
    assert enc["UTF-8"] == 1 and enc["UTF-16"] == 1 and enc["UTF-8 (with BOM)"] == 1


def test_tokens_vocab_and_split_round_trip(tmp_path):
    f = tmp_path / "poem.txt"
    f.write_text("Roses are red,\r\nviolets are blue.\r\n" * 50, encoding="utf-8")
    res = import_text([f], tmp_path / "ds")
    data = load_dataset(tmp_path / "ds")
    vocab = data.spec.vocab
    text = "".join(vocab[i] for i in data.tensors["tokens"].tolist())
    assert text == ("Roses are red,\nviolets are blue.\n" * 50).strip("\n") + "\n"
    manifest = json.loads((tmp_path / "ds/manifest.json").read_text())
    split = manifest["split_at"]
    assert 0.85 * len(text) < split <= 0.95 * len(text) and text[split - 1] == "\n"
    assert manifest["spec"]["vocab"] == sorted(set(text))
    assert res.stats["vocab_size"] == len(vocab) and data.size("val") == len(text) - split


@pytest.mark.parametrize("data,label", [
    ("héllo".encode("utf-8"), "UTF-8"),
    (b"\xef\xbb\xbf" + "héllo".encode(), "UTF-8 (with BOM)"),
    ("héllo wörld".encode("utf-16"), "UTF-16"),
    ("héllo".encode("utf-32"), "UTF-32"),
    ("h\u00e9llo \u201cq\u201d".encode("cp1252"), "Windows-1252 (Western European)"),
])
def test_decode_text_labels(data, label):
    text, enc, _notes = decode_text(data)
    assert enc == label and text.startswith("h")


def test_binary_inputs_refused():
    for data in (b"\0" * 10, b"\x89PNG\r\n\x1a\n" + b"\0" * 20, bytes(range(32)) * 50):
        with pytest.raises(TextSkip):
            decode_text(data)
