"""File › Preferences › Content Credentials: point the studio at your own certificate; one C2PA cannot
sign with is refused naming the file; the studio's key is one click away; exports use the choice."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from studio.core.export import signing_key

c2pa = pytest.importorskip("c2pa", reason="c2pa-python is a dependency (pyproject.toml)")


@pytest.fixture(autouse=True)
def own_preferences(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_CONFIG_DIR", str(tmp_path / "config"))


def _bare_self_signed() -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "me")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def test_choose_a_signing_certificate_in_preferences(make_studio_window, qtbot, tmp_path, monkeypatch):
    import studio.ui.preferences as prefs_mod
    import studio.ui.preferences_credentials as cred_mod
    from studio.core.export.images import save_image
    from studio.core.export.provenance import make_recipe

    win = make_studio_window(load_panels=False, discover=False)
    [action] = [a for a in win.file_menu.actions() if a.text() == "&Preferences…"]
    action.trigger()
    dialog = win.findChild(prefs_mod.PreferencesDialog)
    box = dialog.credentials_box
    assert "self-signed" in box.signer_label.text() and "not who you are" in box.note_label.text()
    assert not box.studio_btn.isEnabled()

    answers, shown = [], []
    monkeypatch.setattr(cred_mod.QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (answers.pop(0), "")))
    monkeypatch.setattr(cred_mod.QMessageBox, "warning", staticmethod(lambda *a: shown.append(a[2])))
    bad_cert, bad_key = tmp_path / "bare.pem", tmp_path / "bare.key"
    for path, data in zip((bad_cert, bad_key), _bare_self_signed()):
        path.write_bytes(data)
    answers += [str(bad_cert), str(bad_key)]
    box.choose_btn.click()
    assert shown and "bare.pem" in shown[0] and "C2PA cannot sign" in shown[0]
    assert signing_key.chosen_certificate() is None  # refused: still the studio's key

    chain, key = signing_key.make_studio_chain()
    cert_path, key_path = tmp_path / "mine.pem", tmp_path / "mine.key"
    cert_path.write_bytes(chain)
    key_path.write_bytes(key)
    answers += [str(cert_path), str(key_path)]
    box.choose_btn.click()
    assert signing_key.chosen_certificate() == (cert_path.resolve(), key_path.resolve())
    assert "mine.pem" in box.signer_label.text() and box.studio_btn.isEnabled()
    out = save_image(np.zeros((8, 8, 3), np.uint8), tmp_path / "x.png", make_recipe(plugin_id="vae", seed=1))
    serial = c2pa.Reader(str(out)).get_active_manifest()["signature_info"]["cert_serial_number"]
    assert serial == signing_key.load_identity(cert_path, key_path, own=True).serial  # exports use the choice
    box.studio_btn.click()
    assert signing_key.chosen_certificate() is None and not box.studio_btn.isEnabled()
    dialog.close()
