"""The key that signs Content Credentials: the studio's own per-user key, or the artist's certificate.

On the first signed export the studio makes, in the user config folder
(``content-credentials/``), a P-256 signing key (file mode 0600) and a
certificate chain: an end-entity certificate issued by a small local CA made at
the same moment. Why a CA at all: C2PA readers refuse a bare self-signed
end-entity certificate, so the studio issues one from a one-off CA whose private
key is thrown away right after (nothing else can ever be issued from it).

What such a credential proves: the file is unchanged since it was exported, and
which key signed it. What it does not prove: who the person is (nobody vouched
for the key). An artist whose organisation issued them a certificate can point
the studio at it (:func:`choose_certificate`, File › Preferences).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

FOLDER = "content-credentials"
KEY_FILE = "signing-key.pem"
CHAIN_FILE = "certificate-chain.pem"
PREFS_FILE = "credentials.json"
#: Organisation name on the studio's own certificates; ``studio verify`` recognises it.
STUDIO_ISSUER = "Generative Studio self-signed key"
VALID_DAYS = 3650
MAX_PEM_BYTES = 256 * 1024


class SigningKeyError(ValueError):
    """A certificate or key that cannot be used (message names the file and the reason)."""


@dataclass(frozen=True)
class SigningIdentity:
    """What signs: the PEM certificate chain (end entity first), its private key and the C2PA algorithm."""
    chain_pem: bytes
    key_pem: bytes
    alg: str                 # c2pa name: es256, es384, es512, ps256, ed25519
    own: bool                # the artist's own certificate (else the studio's self-signed key)
    subject: str
    serial: str              # decimal, as C2PA readers report ``cert_serial_number``
    fingerprint: str         # sha256 of the end-entity certificate (DER)

    def describe(self) -> str:
        who = "your own certificate" if self.own else "the studio's self-signed key"
        return f"{who} ({self.subject}, sha256 {self.fingerprint[:16]}…)"


def key_folder() -> Path:
    from studio.core import paths
    return paths.config_dir() / FOLDER


def _x509():
    try:
        from cryptography import x509
    except ImportError as exc:  # a broken install: exports still carry the recipe
        raise SigningKeyError(f"the 'cryptography' package is missing ({exc})") from exc
    return x509


def _alg_for(key) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        curves = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        if key.curve.name in curves:
            return curves[key.curve.name]
        raise SigningKeyError(f"elliptic curve {key.curve.name} is not one C2PA signs with (P-256, P-384, P-521)")
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    raise SigningKeyError(f"{type(key).__name__} keys cannot sign C2PA manifests (use EC P-256, RSA or Ed25519)")


def _read_pem(path: Path, what: str) -> bytes:
    try:
        if os.path.getsize(path) > MAX_PEM_BYTES:
            raise SigningKeyError(f"{path}: too large to be a {what} (over {MAX_PEM_BYTES // 1024} KiB)")
        return path.read_bytes()
    except FileNotFoundError:
        raise SigningKeyError(f"{path}: {what} file not found") from None
    except OSError as exc:
        raise SigningKeyError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None


def load_identity(chain_path: str | Path, key_path: str | Path, *, own: bool) -> SigningIdentity:
    """A certificate chain (PEM, end entity first) and its private key (PEM, unencrypted), checked to match."""
    x509 = _x509()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    chain_path, key_path = Path(chain_path), Path(key_path)
    chain_pem, key_pem = _read_pem(chain_path, "certificate"), _read_pem(key_path, "private key")
    try:
        certs = x509.load_pem_x509_certificates(chain_pem)
    except ValueError as exc:
        raise SigningKeyError(f"{chain_path}: not a PEM certificate ({exc})") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        raise SigningKeyError(f"{key_path}: the private key is password-protected; export it without a "
                              "password (and keep the file readable only by you)") from None
    except ValueError as exc:
        raise SigningKeyError(f"{key_path}: not a PEM private key ({exc})") from None
    leaf = certs[0]
    pub = PublicFormat.SubjectPublicKeyInfo
    if leaf.public_key().public_bytes(Encoding.DER, pub) != key.public_key().public_bytes(Encoding.DER, pub):
        raise SigningKeyError(f"{key_path}: this key does not belong to the certificate {chain_path}")
    now = _dt.datetime.now(_dt.timezone.utc)
    if leaf.not_valid_after_utc < now:
        raise SigningKeyError(f"{chain_path}: the certificate expired on {leaf.not_valid_after_utc.date()}")
    return SigningIdentity(chain_pem=chain_pem, key_pem=key_pem, alg=_alg_for(key), own=own,
                           subject=leaf.subject.rfc4514_string(), serial=str(leaf.serial_number),
                           fingerprint=hashlib.sha256(leaf.public_bytes(Encoding.DER)).hexdigest())


def _name(common_name: str):
    x509 = _x509()
    from cryptography.x509.oid import NameOID
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, STUDIO_ISSUER),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _usage(sign: bool):
    x509 = _x509()
    return x509.KeyUsage(digital_signature=sign, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=not sign, crl_sign=not sign,
                         encipher_only=False, decipher_only=False)


def make_studio_chain() -> tuple[bytes, bytes]:
    """(chain PEM, key PEM) of a fresh studio key: end entity + the one-off CA that issued it."""
    x509 = _x509()
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    now = _dt.datetime.now(_dt.timezone.utc)
    start, end = now - _dt.timedelta(hours=1), now + _dt.timedelta(days=VALID_DAYS)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("Generative Studio local CA"))
          .issuer_name(_name("Generative Studio local CA")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(_usage(False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(_name("Generative Studio signer")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(True), critical=True)
            # C2PA wants an extended key usage it lists; e-mail protection is the one for personal signing
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return leaf.public_bytes(pem) + ca.public_bytes(pem), key_pem  # the CA key is dropped here, on purpose


def studio_identity() -> SigningIdentity:
    """The studio's own key, made on first use (or again when it has expired)."""
    folder = key_folder()
    try:
        return load_identity(folder / CHAIN_FILE, folder / KEY_FILE, own=False)
    except SigningKeyError:
        if folder.exists():  # expired or damaged (a file missing): set aside, make a new one
            _retire(folder)
    _create(folder)
    return load_identity(folder / CHAIN_FILE, folder / KEY_FILE, own=False)


def _retire(folder: Path) -> None:
    """An expired or broken key folder is kept aside (``.old``), never deleted: its certificate still
    identifies files signed earlier."""
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d%H%M%S")
    try:
        os.replace(folder, folder.with_name(f"{folder.name}.old-{stamp}"))
    except OSError:
        pass


def _create(folder: Path) -> None:
    """Write the key and chain into a private temporary folder and rename it into place: two studio
    processes signing their first export at once end up with one key (the loser uses the winner's)."""
    chain_pem, key_pem = make_studio_chain()
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))  # mode 0700
    try:
        fd = os.open(tmp / KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key_pem)
        (tmp / CHAIN_FILE).write_bytes(chain_pem)
        try:
            os.rename(tmp, folder)
        except OSError:
            if not (folder / KEY_FILE).exists():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


# -- the artist's own certificate (Preferences) -------------------------------------------------
def _prefs_path() -> Path:
    from studio.core import paths
    return paths.config_dir() / PREFS_FILE


def chosen_certificate() -> tuple[Path, Path] | None:
    """(certificate chain, private key) chosen in Preferences, or None for the studio's own key."""
    from studio.core.fileio import read_json

    path = _prefs_path()
    if not path.is_file():
        return None
    try:
        value = read_json(path, max_bytes=64 * 1024)
    except (OSError, ValueError):
        return None
    cert, key = (value.get("certificate"), value.get("key")) if isinstance(value, dict) else (None, None)
    return (Path(cert), Path(key)) if isinstance(cert, str) and isinstance(key, str) and cert and key else None


def save_choice(cert: Path | None, key: Path | None) -> None:
    from studio.core.fileio import atomic_write_json
    atomic_write_json(_prefs_path(), {"certificate": str(cert) if cert else None, "key": str(key) if key else None})


def current_identity() -> SigningIdentity:
    """What signs the next export: the chosen certificate when set (a broken choice raises
    :class:`SigningKeyError` naming the file), else the studio's own key."""
    chosen = chosen_certificate()
    if chosen:
        return load_identity(*chosen, own=True)
    return studio_identity()
