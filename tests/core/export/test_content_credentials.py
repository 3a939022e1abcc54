"""Content Credentials in the export writers: the signing key (made once, private), the artist's own
certificate, sidecars for MIDI/TXT, and that signing never costs the user their file or their recipe."""
from __future__ import annotations

import io
import json
import logging
import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from studio.core.export import credentials, signing_key
from studio.core.export.audio import save_audio
from studio.core.export.images import save_image
from studio.core.export.midi import save_midi
from studio.core.export.provenance import make_recipe, to_json
from studio.core.export.read import read_provenance
from studio.core.export.text import save_text
from studio.core.export.verification import verify_file
from studio.core.export.video import save_gif, save_mp4

c2pa = pytest.importorskip("c2pa", reason="c2pa-python is a dependency (pyproject.toml)")


@pytest.fixture
def config(tmp_path, monkeypatch):
    """A config folder of this test's own: no key yet, no certificate chosen."""
    folder = tmp_path / "config"
    monkeypatch.setenv("STUDIO_CONFIG_DIR", str(folder))
    return folder


def _recipe(seed=7):
    return make_recipe(plugin_id="vae", plugin_version="1.0", run_id="run-1", seed=seed, vector=[0.25, -1.5])


def _picture():
    return np.random.default_rng(0).random((3, 12, 12))


def _manifest(path: Path) -> dict:
    reader = c2pa.Reader(str(path))
    assert reader.get_validation_state() == "Valid", reader.get_validation_results()
    return reader.get_active_manifest()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_first_signing_makes_a_private_key_and_reuses_it(config, tmp_path):
    assert not (config / "content-credentials").exists()
    save_image(_picture(), tmp_path / "a.png", _recipe())
    folder = config / "content-credentials"
    key = folder / "signing-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    from cryptography import x509
    chain = x509.load_pem_x509_certificates((folder / "certificate-chain.pem").read_bytes())
    # an end entity issued by a local CA: C2PA refuses a bare self-signed signing certificate
    assert len(chain) == 2 and chain[0].issuer == chain[1].subject != chain[0].subject
    first = key.read_bytes()
    save_image(_picture(), tmp_path / "b.png", _recipe())
    assert key.read_bytes() == first  # made once
    serials = {_manifest(p)["signature_info"]["cert_serial_number"] for p in (tmp_path / "a.png", tmp_path / "b.png")}
    assert serials == {str(chain[0].serial_number)}


def test_every_embedded_format_is_signed_and_keeps_its_recipe(config, tmp_path):
    recipe = _recipe()
    files = [save_image(_picture(), tmp_path / f"a.{ext}", recipe) for ext in ("png", "jpg", "webp")]
    files.append(save_gif([_picture(), _picture() * 0.5], tmp_path / "a.gif", recipe))
    sound = np.sin(np.linspace(0, 200, 4000)).astype(np.float32) * 0.3
    files += [save_audio(sound, tmp_path / f"a.{ext}", recipe, sample_rate=8000) for ext in ("wav", "flac")]
    for path in files:
        manifest = _manifest(path)
        data = next(a["data"] for a in manifest["assertions"] if a["label"] == credentials.RECIPE_LABEL)
        assert json.loads(data["recipe"]) == read_provenance(path)
        assert read_provenance(path)["vector"] == [0.25, -1.5]  # the exact vector survives both ways
        assert verify_file(path).state == "valid"
        assert not credentials.sidecar_path(path).exists()


def test_midi_and_text_get_sidecars_and_tampering_shows(config, tmp_path):
    mid = save_midi([60, 62, 64, 65], tmp_path / "tune.mid", _recipe())
    txt = save_text("once upon a time", tmp_path / "story.txt", _recipe())
    for path in (mid, txt):
        sidecar = credentials.sidecar_path(path)
        reader = c2pa.Reader("application/octet-stream", io.BytesIO(path.read_bytes()), sidecar.read_bytes())
        assert reader.get_validation_state() == "Valid"
        assert verify_file(path).state == "valid" and verify_file(path).recipe["seed"] == 7
    txt.write_text(txt.read_text().replace("once", "twice"))
    result = verify_file(txt)
    assert result.state == "tampered" and "dataHash" in result.reason
    assert "TAMPERED" in result.describe()


def test_a_signing_failure_still_writes_the_file_with_its_recipe(config, tmp_path, monkeypatch, caplog):
    def broken():
        raise signing_key.SigningKeyError("/nowhere/cert.pem: certificate file not found")
    monkeypatch.setattr(signing_key, "current_identity", broken)
    with caplog.at_level(logging.WARNING):
        png = save_image(_picture(), tmp_path / "a.png", _recipe())
        mid = save_midi([60, 62], tmp_path / "a.mid", _recipe())
        mp4 = save_mp4([_picture(), _picture() * 0.5], tmp_path / "a.mp4", _recipe())
    assert read_provenance(png)["seed"] == 7 and read_provenance(mid)["seed"] == 7
    assert read_provenance(mp4)["seed"] == 7 and verify_file(mp4).state == "none"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "config") == ["a.mid", "a.mp4", "a.png"]
    assert not credentials.sidecar_path(mid).exists()
    assert "a.png: saved without Content Credentials" in caplog.text and "cert.pem" in caplog.text
    result = verify_file(png)
    assert result.state == "none" and result.recipe["seed"] == 7 and result.recipe_source == "embedded"


def test_files_made_before_credentials_still_restore(config, tmp_path):
    """A PNG as the studio wrote it before this change: recipe in iTXt, no C2PA manifest."""
    old = tmp_path / "old.png"
    info = PngInfo()
    info.add_itxt("studio.provenance", to_json(_recipe(seed=11)))
    Image.new("RGB", (8, 8)).save(old, "PNG", pnginfo=info)
    before = old.read_bytes()
    assert read_provenance(old)["seed"] == 11
    result = verify_file(old)
    assert result.state == "none" and result.recipe["seed"] == 11 and "no Content Credentials" in result.describe()
    assert old.read_bytes() == before  # verifying only reads


def _self_signed() -> tuple[bytes, bytes]:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "me")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def _write_pair(folder: Path, chain: bytes, key: bytes) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "me.pem").write_bytes(chain)
    (folder / "me.key").write_bytes(key)
    return folder / "me.pem", folder / "me.key"


def test_the_artists_own_certificate_signs_and_a_bad_one_is_refused(config, tmp_path):
    chain, key = signing_key.make_studio_chain()
    cert_path, key_path = _write_pair(tmp_path / "mine", chain, key)
    ident = credentials.use_own_certificate(cert_path, key_path)
    assert ident.own and signing_key.chosen_certificate() == (cert_path.resolve(), key_path.resolve())
    png = save_image(_picture(), tmp_path / "a.png", _recipe())
    assert _manifest(png)["signature_info"]["cert_serial_number"] == ident.serial
    assert not (config / "content-credentials").exists()  # the studio key was never needed
    # a key that belongs to another certificate: refused, naming the file; the choice stays
    _, other_key = signing_key.make_studio_chain()
    _, wrong = _write_pair(tmp_path / "wrong", chain, other_key)
    with pytest.raises(signing_key.SigningKeyError, match="does not belong"):
        credentials.use_own_certificate(cert_path, wrong)
    # a bare self-signed certificate is one C2PA will not sign with: refused now, in words
    lone, lone_key = _write_pair(tmp_path / "lone", *_self_signed())
    with pytest.raises(signing_key.SigningKeyError, match="C2PA cannot sign with this certificate") as err:
        credentials.use_own_certificate(lone, lone_key)
    assert str(lone.resolve()) in str(err.value)
    assert signing_key.chosen_certificate() == (cert_path.resolve(), key_path.resolve())
    credentials.use_own_certificate(None)
    assert signing_key.chosen_certificate() is None
    save_image(_picture(), tmp_path / "b.png", _recipe())
    assert _manifest(tmp_path / "b.png")["signature_info"]["cert_serial_number"] != ident.serial


def test_turning_signing_off_gives_byte_identical_files(config, tmp_path, monkeypatch):
    save_midi([60, 62], tmp_path / "a.mid", _recipe())
    assert credentials.sidecar_path(tmp_path / "a.mid").exists()
    monkeypatch.setenv("STUDIO_CONTENT_CREDENTIALS", "off")
    save_midi([60, 64], tmp_path / "a.mid", _recipe(), overwrite=True)  # the old sidecar goes with the old file
    assert not credentials.sidecar_path(tmp_path / "a.mid").exists() and verify_file(tmp_path / "a.mid").state == "none"
    a = save_image(_picture(), tmp_path / "a.png", _recipe())
    b = save_image(_picture(), tmp_path / "b.png", _recipe())
    assert a.read_bytes() == b.read_bytes() and verify_file(a).state == "none"


@pytest.mark.parametrize("prefix", ["c2pa", "cawg"])
def test_a_do_not_train_assertion_on_an_input_file_is_found(config, tmp_path, prefix):
    from studio.core.datasets.training_permission import training_permission

    src = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(src, "PNG")
    manifest = credentials.manifest_definition({}, "someone else's.png")
    manifest["assertions"].append({"label": f"{prefix}.training-mining", "data": {"entries": {
        f"{prefix}.ai_generative_training": {"use": "notAllowed"}, f"{prefix}.data_mining": {"use": "allowed"}}}})
    out = io.BytesIO()
    c2pa.Builder(manifest, context=credentials._context()).sign(credentials._signer(), "image/png",
                                                                 io.BytesIO(src.getvalue()), out)
    theirs = tmp_path / "theirs.png"
    theirs.write_bytes(out.getvalue())
    found = training_permission(theirs)
    assert found is not None and found.not_allowed and found.valid
    assert "not allowed" in found.describe() and "theirs.png" in found.describe()
    # a studio export carries no such preference; a plain file has no credentials at all
    assert training_permission(save_image(_picture(), tmp_path / "ours.png", _recipe())) is None
    plain = tmp_path / "plain.png"
    plain.write_bytes(src.getvalue())
    assert training_permission(plain) is None


def test_two_processes_signing_their_first_export_at_once_share_one_key(config, tmp_path):
    import subprocess

    code = ("import sys; from studio.core.export.signing_key import studio_identity; "
            "print(studio_identity().fingerprint)")
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "STUDIO_CONFIG_DIR": str(config)}) for _ in range(3)]
    prints = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(prints) == 1 and prints == {signing_key.studio_identity().fingerprint}
    assert [p.name for p in config.iterdir() if p.name.startswith(".")] == []  # no temporary folder left


def test_a_damaged_key_folder_is_set_aside_and_a_new_key_made(config, tmp_path):
    save_image(_picture(), tmp_path / "a.png", _recipe())
    folder = config / "content-credentials"
    old_serial = _manifest(tmp_path / "a.png")["signature_info"]["cert_serial_number"]
    (folder / "signing-key.pem").unlink()
    save_image(_picture(), tmp_path / "b.png", _recipe())
    assert _manifest(tmp_path / "b.png")["signature_info"]["cert_serial_number"] != old_serial
    kept = [p for p in config.iterdir() if p.name.startswith("content-credentials.old-")]
    assert len(kept) == 1 and (kept[0] / "certificate-chain.pem").is_file()  # never deleted
