"""Check a file's Content Credentials: valid, tampered, or none (``studio verify``, the drop dialog).

One call, :func:`verify_file`, gives a :class:`Verification`: the state, who
signed, the disclosure (``c2pa.created`` + the IPTC digital source type) and
the recipe (from the manifest, else the one embedded the old way, so files made
before Content Credentials still restore). ``describe()`` is the text a person
reads. A file C2PA cannot embed in (MIDI, TXT) is checked against its sidecar
``NAME.c2pa``.

The studio's own key is self-signed, so C2PA readers report it as untrusted
(``signingCredential.untrusted``); that says nothing about the file, which is
still "valid" here, and ``describe()`` says what such a signature proves.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from studio.core.c2pa_formats import c2pa_context
from studio.core.export.credentials import EMBEDDED, INGREDIENT_SHA256, RECIPE_LABEL, SIDECAR, sidecar_path
from studio.core.export.provenance import ProvenanceError, from_json

VALID, TAMPERED, NONE, UNREADABLE = "valid", "tampered", "none", "unreadable"
#: Failure codes that do not mean the file changed: nobody vouched for the (self-signed) key.
TRUST_CODES = {"signingCredential.untrusted"}
SELF_SIGNED_NOTE = ("signed by a self-signed studio key (proves the file is unchanged since export and which key "
                    "signed it, not who the person is)")
MAX_MANIFEST_BYTES = 16 * 1024 * 1024


@dataclass
class Verification:
    path: str
    state: str                                  # valid | tampered | none | unreadable
    reason: str = ""                            # one line: why tampered / unreadable / none
    sidecar: str | None = None                  # the .c2pa file checked, for MIDI / TXT
    signer: str = ""                            # certificate subject as C2PA reports it
    issuer: str = ""
    self_signed: bool = False                   # the studio's own self-signed key
    your_key: bool = False                      # ... and the one in this user's config folder
    trusted: bool = False                       # a C2PA trust list vouches for the signer
    disclosure: dict[str, Any] = field(default_factory=dict)  # action, digital_source_type, software_agent
    ingredients: list[str] = field(default_factory=list)
    #: the same ingredients with what the manifest says of them: title, relationship, sha256 (of the
    #: user's file, when the studio recorded it; "" otherwise)
    ingredient_files: list[dict[str, str]] = field(default_factory=list)
    recipe: dict[str, Any] | None = None
    recipe_source: str = ""                     # "credentials" | "embedded" | ""
    failures: list[str] = field(default_factory=list)  # C2PA failure codes (trust codes included)

    @property
    def ok(self) -> bool:
        return self.state == VALID

    def describe(self) -> str:
        name = Path(self.path).name
        lines: list[str]
        if self.state == VALID:
            lines = [f"{name}: Content Credentials valid — the file is unchanged since it was signed."]
            if self.self_signed:
                lines.append(SELF_SIGNED_NOTE[0].upper() + SELF_SIGNED_NOTE[1:] +
                             ("; it is the studio key on this computer." if self.your_key else "."))
            elif self.trusted:
                lines.append(f"Signed by {self.signer} (issued by {self.issuer}; on a C2PA trust list).")
            else:
                lines.append(f"Signed by {self.signer} (issued by {self.issuer}; not on a trust list this "
                             "studio knows, so it proves which certificate signed, not that anyone vouched for it).")
        elif self.state == TAMPERED:
            lines = [f"{name}: TAMPERED — the file changed after it was signed ({self.reason})."]
        elif self.state == NONE:
            lines = [f"{name}: no Content Credentials ({self.reason or 'none found'})."]
        else:
            lines = [f"{name}: cannot check Content Credentials ({self.reason})."]
        if self.sidecar:
            lines.append(f"Credentials read from {Path(self.sidecar).name}.")
        d = self.disclosure
        if d:
            agent = d.get("software_agent") or "unknown software"
            lines.append(f"Disclosure: {d.get('action', '?')} by {agent}; source type "
                         f"{str(d.get('digital_source_type', '?')).rsplit('/', 1)[-1]}.")
        if self.ingredients:
            named = [f"{i['title']} (SHA-256 {i['sha256'][:12]}…)" if i.get("sha256") else i["title"]
                     for i in self.ingredient_files] or self.ingredients
            lines.append("Made from your files: " + ", ".join(named) + ".")
        if self.recipe:
            r = self.recipe
            what = f"{r.get('plugin', {}).get('id', '?')} · run {r.get('run', {}).get('id') or '?'}"
            if r.get("seed") is not None:
                what += f" · seed {r['seed']}"
            where = "in the credentials" if self.recipe_source == "credentials" else \
                "embedded in the file (not covered by a signature)"
            lines.append(f"Recipe ({where}): {what}.")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["description"] = self.describe()
        return out


def _ingredient(entry: dict) -> dict[str, str]:
    meta = entry.get("metadata") if isinstance(entry.get("metadata"), dict) else {}
    sha = meta.get(INGREDIENT_SHA256)
    return {"title": str(entry.get("title", "?")), "relationship": str(entry.get("relationship", "")),
            "sha256": sha if isinstance(sha, str) else ""}


def _read_sidecar(path: Path) -> bytes | None:
    sc = sidecar_path(path)
    if not sc.is_file():
        return None
    if sc.stat().st_size > MAX_MANIFEST_BYTES:
        raise ValueError(f"{sc}: too large to be a Content Credentials sidecar")
    return sc.read_bytes()


def _embedded_recipe(path: Path) -> dict[str, Any] | None:
    from studio.core.export.read import read_provenance
    try:
        return read_provenance(path)
    except (ProvenanceError, ValueError, OSError):
        return None


def _disclosure(manifest: dict[str, Any]) -> dict[str, Any]:
    for assertion in manifest.get("assertions", []):
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            for action in (assertion.get("data") or {}).get("actions", []):
                if action.get("action") == "c2pa.created":
                    agent = action.get("softwareAgent")
                    if isinstance(agent, dict):
                        agent = " ".join(str(agent.get(k, "")) for k in ("name", "version")).strip()
                    return {"action": "c2pa.created", "digital_source_type": action.get("digitalSourceType"),
                            "software_agent": agent}
    return {}


def _studio_serial() -> str | None:
    """Serial of this user's studio key, if one exists (never creates one: verifying is read-only)."""
    from studio.core.export.signing_key import CHAIN_FILE, KEY_FILE, SigningKeyError, key_folder, load_identity
    folder = key_folder()
    if not (folder / CHAIN_FILE).is_file():
        return None
    try:
        return load_identity(folder / CHAIN_FILE, folder / KEY_FILE, own=False).serial
    except SigningKeyError:
        return None


def verify_file(path: str | Path) -> Verification:
    """The Content Credentials of ``path`` checked. Never raises for a bad file: ``state`` says
    ``unreadable`` with the reason (a missing file still raises ``FileNotFoundError``)."""
    from studio.core.export.signing_key import STUDIO_ISSUER

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    suffix = path.suffix.lower()
    v = Verification(path=str(path), state=NONE)
    try:
        import c2pa
    except ImportError as exc:
        v.state, v.reason = UNREADABLE, f"the c2pa package is not installed ({exc})"
        return _with_recipe(v, path)
    try:
        manifest_data = _read_sidecar(path) if suffix not in EMBEDDED else None
        if suffix not in EMBEDDED and manifest_data is None:
            v.reason = f"no {sidecar_path(path).name} sidecar next to it" if suffix in SIDECAR else \
                f"C2PA does not embed credentials in {suffix or 'extension-less'} files and there is no sidecar"
            return _with_recipe(v, path)
        v.sidecar = str(sidecar_path(path)) if manifest_data is not None else None
        fmt = EMBEDDED.get(suffix) or "application/octet-stream"
        with open(path, "rb") as fh:
            reader = c2pa.Reader.try_create(fmt, fh, manifest_data, context=c2pa_context())  # offline
            if reader is None:
                v.reason = "the file carries no C2PA manifest"
                return _with_recipe(v, path)
            manifest = reader.get_active_manifest() or {}
            results = reader.get_validation_results() or {}
            state = reader.get_validation_state()
    except Exception as exc:  # noqa: BLE001 - a manifest c2pa cannot parse: report it, never crash the caller
        v.state, v.reason = TAMPERED, f"the credentials cannot be read: {exc}"
        return _with_recipe(v, path)
    active = results.get("activeManifest") or {}
    fails = [f for f in active.get("failure", []) if isinstance(f, dict)]
    v.failures = [str(f.get("code")) for f in fails]
    real = [f for f in fails if f.get("code") not in TRUST_CODES]
    sig = manifest.get("signature_info") or {}
    v.signer, v.issuer = str(sig.get("common_name", "")), str(sig.get("issuer", ""))
    v.self_signed = v.issuer == STUDIO_ISSUER
    v.your_key = v.self_signed and str(sig.get("cert_serial_number", "")) == (_studio_serial() or "-")
    v.trusted = state == "Trusted"
    if real or state == "Invalid":
        v.state = TAMPERED
        v.reason = "; ".join(f"{f.get('code')}: {f.get('explanation', '')}".strip(": ") for f in real) or \
            "C2PA says the manifest is invalid"
    else:
        v.state = VALID
    v.disclosure = _disclosure(manifest)
    v.ingredients = [str(i.get("title", "?")) for i in manifest.get("ingredients", []) or []]
    v.ingredient_files = [_ingredient(i) for i in manifest.get("ingredients", []) or [] if isinstance(i, dict)]
    for assertion in manifest.get("assertions", []):
        data = assertion.get("data")
        if assertion.get("label") == RECIPE_LABEL and isinstance(data, dict) and isinstance(data.get("recipe"), str):
            try:
                v.recipe = from_json(data["recipe"], f"{path} (credentials)")
                v.recipe_source = "credentials"
            except ProvenanceError:
                pass
    return v if v.recipe else _with_recipe(v, path)


def _with_recipe(v: Verification, path: Path) -> Verification:
    """Fall back on the recipe embedded the pre-C2PA way (files made before still show it)."""
    v.recipe = _embedded_recipe(path)
    v.recipe_source = "embedded" if v.recipe else ""
    return v


__all__ = ["Verification", "verify_file", "VALID", "TAMPERED", "NONE", "UNREADABLE", "SELF_SIGNED_NOTE"]
