"""Content Credentials (C2PA): every export is signed with a manifest any C2PA reader can verify.

The manifest says what the recipe already says, in the industry's words: a
``c2pa.created`` action with the IPTC digital source type
``trainedAlgorithmicMedia`` and the studio as software agent, the recipe itself
as a custom assertion (``org.generative-studio.recipe``), and an ingredient for
each file of the user's that went in (:func:`user_inputs`).

Formats: PNG, JPEG, WebP, GIF, MP4, WAV and FLAC carry the manifest inside the
file (c2pa-python embeds into each of them). MIDI and plain text have no place
for one that C2PA defines, so they get a sidecar ``NAME.c2pa`` next to them: a
manifest store whose data hash covers every byte of the file.

Signing never costs the user their file: any failure (no ``c2pa`` package, a
broken certificate, a format c2pa refuses) leaves the file as written, with its
recipe embedded as before, and logs one warning. ``STUDIO_CONTENT_CREDENTIALS=off``
turns signing off for a process (byte-identical reproducible output: a signature
is new every time).
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import io
import logging
import os
from pathlib import Path
from typing import Any, Iterator, Sequence

from studio import __version__
from studio.core.c2pa_formats import EMBEDDED, SIDECAR, mime_type, sidecar_path  # noqa: F401 (re-exported)
from studio.core.export.provenance import IPTC_DIGITAL_SOURCE_TYPE, finalize, to_json

log = logging.getLogger(__name__)

RECIPE_LABEL = "org.generative-studio.recipe"
INGREDIENT_SHA256 = "org.generative-studio.sha256"  # an ingredient's metadata: SHA-256 of the user's file
APP_NAME = "Generative Studio"
MAX_INGREDIENT_BYTES = 64 * 1024 * 1024  # a bigger input file is named in the manifest but not hashed

_inputs: contextvars.ContextVar[tuple[Path, ...]] = contextvars.ContextVar("studio_c2pa_inputs", default=())


def enabled() -> bool:
    return os.environ.get("STUDIO_CONTENT_CREDENTIALS", "").strip().lower() not in ("0", "off", "no", "false")


@contextlib.contextmanager
def user_inputs(paths: Sequence[str | Path | None]) -> Iterator[None]:
    """Files of the user's that the exports written inside this block were made from (the two
    pictures of an interpolation, a primer melody): each becomes an ingredient of the manifest."""
    token = _inputs.set(tuple(Path(p) for p in paths if p))
    try:
        yield
    finally:
        _inputs.reset(token)


def inputs_from_args(*names: str):
    """Decorate a command's ``run(args)``: the files named by these arguments (when they are files:
    ``--prime`` may also be plain text) are ingredients of everything it exports."""
    def decorate(run):
        @functools.wraps(run)
        def wrapper(args):
            values = [getattr(args, n, None) for n in names]
            files = [v for v in values if isinstance(v, str) and len(v) < 4096 and "\n" not in v and Path(v).is_file()]
            with user_inputs(files):
                return run(args)
        return wrapper
    return decorate


def manifest_definition(recipe: dict[str, Any] | None, title: str) -> dict[str, Any]:
    """The manifest the studio signs (c2pa-python's JSON manifest definition)."""
    recipe = finalize(recipe)
    agent = {"name": APP_NAME, "version": __version__}
    return {
        "claim_generator_info": [agent],
        "title": title,
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [{
                "action": "c2pa.created", "digitalSourceType": IPTC_DIGITAL_SOURCE_TYPE,
                "softwareAgent": agent,
                "description": f"{recipe.get('disclosure', 'AI-generated')}: made by a model the user trained "
                               f"({recipe.get('plugin', {}).get('id', '?')})"}]}},
            {"label": RECIPE_LABEL, "data": recipe_assertion(recipe)},
        ],
    }


def recipe_assertion(recipe: dict[str, Any]) -> dict[str, Any]:
    """The recipe assertion: the exact recipe JSON as text (c2pa's JSON-to-CBOR step turns lists of
    numbers, like the latent vector, into byte strings, so the dict itself would not survive), plus
    the few fields a person looks for, readable in any C2PA viewer."""
    head = {"format": recipe.get("format"), "plugin": recipe.get("plugin", {}).get("id"),
            "run": recipe.get("run", {}).get("id"), "seed": recipe.get("seed"),
            "checkpoint_sha256": recipe.get("checkpoint", {}).get("sha256")}
    return {**{k: v for k, v in head.items() if v is not None}, "recipe": to_json(recipe)}


def _c2pa():
    import c2pa  # imported only when signing: the studio starts without loading the native library
    return c2pa


def _context():
    from studio.core.c2pa_formats import c2pa_context
    return c2pa_context()


def _signer():
    from studio.core.export.signing_key import current_identity

    c2pa = _c2pa()
    ident = current_identity()
    return c2pa.Signer.from_info(c2pa.C2paSignerInfo(ident.alg, ident.chain_pem, ident.key_pem, None))


def _builder(recipe: dict[str, Any] | None, title: str):
    c2pa = _c2pa()
    builder = c2pa.Builder(manifest_definition(recipe, title), context=_context())
    for path in _inputs.get():
        _add_ingredient(builder, path)
    return builder


def _add_ingredient(builder, path: Path) -> None:
    """The user's input file as an ``inputTo`` ingredient, hashed from its bytes when c2pa knows the
    format (else, like a MIDI primer, with the data hash of its bytes as a generic stream). C2PA's
    ingredient keeps no digest of the file itself, so its SHA-256 goes into the ingredient's metadata
    (:data:`INGREDIENT_SHA256`): anyone holding the file can tell it is the one that went in."""
    fmt = mime_type(path) or "application/octet-stream"
    meta: dict[str, Any] = {"title": path.name, "relationship": "inputTo"}
    try:
        if path.stat().st_size > MAX_INGREDIENT_BYTES:
            raise OSError("too large to hash")
        data = path.read_bytes()
        meta["metadata"] = {INGREDIENT_SHA256: hashlib.sha256(data).hexdigest()}
        builder.add_ingredient(meta, fmt, io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - an ingredient is extra detail; the manifest goes on without it
        log.warning("%s: not recorded as an ingredient of the Content Credentials (%s)", path, exc)


def sign_bytes(data: bytes, suffix: str, recipe: dict[str, Any] | None, *, title: str = "") -> bytes:
    """``data`` (a whole file of type ``suffix``) with a signed C2PA manifest embedded; on any failure
    the same bytes, unsigned, and one warning (the recipe they carry is untouched)."""
    mime = EMBEDDED.get(suffix.lower())
    if not enabled() or mime is None:
        return data
    try:
        out = io.BytesIO()
        _builder(recipe, title or f"export{suffix}").sign(_signer(), mime, io.BytesIO(data), out)
        return out.getvalue()
    except Exception as exc:  # noqa: BLE001 - never lose an export to signing
        log.warning("%s: saved without Content Credentials (%s); the recipe is embedded as before",
                    title or suffix, exc)
        return data


def sign_file(path: str | Path, recipe: dict[str, Any] | None, *, suffix: str | None = None,
              title: str = "") -> bool:
    """Sign a file in place, streaming (a long MP4 is not read into memory): written to a temporary
    file beside it and moved over it when complete. False (and a warning) when it stays unsigned."""
    path = Path(path)
    suffix = (suffix or path.suffix).lower()
    mime = EMBEDDED.get(suffix)
    if not enabled() or mime is None:
        return False
    tmp = path.with_name(f".{path.name}.c2pa-tmp")
    try:
        with open(path, "rb") as src, open(tmp, "w+b") as dst:
            _builder(recipe, title or path.name).sign(_signer(), mime, src, dst)
        os.replace(tmp, path)
        return True
    except Exception as exc:  # noqa: BLE001 - never lose an export to signing
        log.warning("%s: saved without Content Credentials (%s); the recipe is embedded as before",
                    title or path, exc)
        return False
    finally:
        if tmp.exists():
            tmp.unlink()


def sidecar_manifest(data: bytes, suffix: str, recipe: dict[str, Any] | None, *, title: str = "") -> bytes | None:
    """A detached manifest store (the ``.c2pa`` sidecar) whose data hash covers ``data``; None (and a
    warning) when it cannot be made."""
    if not enabled():
        return None
    mime = SIDECAR.get(suffix.lower(), "application/octet-stream")
    try:
        builder = _builder(recipe, title or f"export{suffix}")
        builder.set_no_embed()
        return builder.sign(_signer(), mime, io.BytesIO(data), io.BytesIO())
    except Exception as exc:  # noqa: BLE001 - the file itself is already written with its recipe
        log.warning("%s: no Content Credentials sidecar (%s); the recipe is embedded as before",
                    title or suffix, exc)
        return None


def write_sidecar(path: str | Path, recipe: dict[str, Any] | None) -> Path | None:
    """Sign the file just written at ``path`` with a sidecar ``path.c2pa``; None when none was made."""
    from studio.core.fileio import atomic_write_bytes

    path = Path(path)
    manifest = sidecar_manifest(path.read_bytes(), path.suffix, recipe, title=path.name)
    if manifest is None:
        try:  # a sidecar left from the file this export replaced would call the new file tampered
            sidecar_path(path).unlink(missing_ok=True)
        except OSError:
            pass
        return None
    try:
        atomic_write_bytes(sidecar_path(path), manifest)
    except OSError as exc:
        log.warning("%s: could not write the Content Credentials sidecar (%s)", sidecar_path(path), exc)
        return None
    return sidecar_path(path)


def use_own_certificate(cert: str | Path | None, key: str | Path | None = None):
    """Sign from now on with the artist's own certificate chain and key (PEM); ``None`` goes back to
    the studio's key. The pair is tried on a small picture first: one c2pa refuses is refused here,
    in words (:class:`~studio.core.export.signing_key.SigningKeyError`), and the choice stays as it was."""
    from studio.core.export.signing_key import SigningKeyError, load_identity, save_choice

    if cert is None:
        save_choice(None, None)
        return None
    if key is None:
        raise SigningKeyError(f"{cert}: give the private key that goes with this certificate")
    cert, key = Path(cert).expanduser().resolve(), Path(key).expanduser().resolve()
    ident = load_identity(cert, key, own=True)
    c2pa = _c2pa()
    try:
        from PIL import Image
        probe = io.BytesIO()
        Image.new("RGB", (2, 2)).save(probe, "PNG")
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(ident.alg, ident.chain_pem, ident.key_pem, None))
        c2pa.Builder(manifest_definition({}, "probe.png"), context=_context()).sign(
            signer, "image/png", io.BytesIO(probe.getvalue()), io.BytesIO())
    except Exception as exc:  # noqa: BLE001 - c2pa's own words say what is wrong with the certificate
        raise SigningKeyError(f"{cert}: C2PA cannot sign with this certificate ({exc}); it needs an end-entity "
                              "certificate (not self-signed, not a CA) with digital-signature key usage "
                              "and an extended key usage such as e-mail protection") from None
    save_choice(cert, key)
    return ident
