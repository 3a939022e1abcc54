"""Melody panel exports through ``studio.core.export``: MIDI, WAV and FLAC carry the recipe.

The recipe names the model that wrote the variation (plugin, run, checkpoint), its seed and
sampling settings, and whether the notes were edited by hand afterwards; the AI-generated
disclosure is always written (``studio.core.export.provenance.finalize``).

A MIDI file the artist loaded ("Load MIDI…") is an input of what the roll holds next: of the melody
itself, and of the variations that continue it as their primer. Its path travels in the panel's params
(``INPUT_FILES``) and becomes an ingredient of the export's Content Credentials, the way
``studio generate --prime FILE`` records it (``credentials.user_inputs``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from studio.core.export.credentials import user_inputs
from studio.core.export.provenance import make_recipe

SAMPLING_KEYS = ("temperature", "top_k", "top_p", "length_bars", "primer_steps")
INPUT_FILES = "input_files"   # the params' list of the artist's files the notes came from


def loaded_from(path: str | Path) -> dict[str, Any]:
    """The params of a melody loaded from the artist's file (not a variation of ours)."""
    return {INPUT_FILES: [str(Path(path).expanduser().resolve())]}


def primer_inputs(params: dict[str, Any], primer: Sequence[int]) -> dict[str, Any]:
    """What a new variation inherits from the roll's params: its files, when it continues a primer."""
    return {INPUT_FILES: list(params[INPUT_FILES])} if primer and params.get(INPUT_FILES) else {}


def input_files(params: dict[str, Any]) -> list[str]:
    return [str(p) for p in params.get(INPUT_FILES) or []]


def melody_recipe(params: dict[str, Any], events: list[int], generated: list[int] | None, *,
                  bpm: float, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The recipe of the roll's melody.

    ``params``: the loaded variation's settings (seed, sampling, ``source`` of its model), empty
    for a melody drawn or loaded by hand; ``generated``: the variation's events as generated, to
    tell whether the notes were edited since.
    """
    src = params.get("source") or {}
    from_model = any(k != INPUT_FILES for k in params)
    edited = not from_model or generated is None or list(events) != list(generated)
    sampling = {k: params[k] for k in SAMPLING_KEYS if k in params} if from_model else {}
    more = {"bpm": float(bpm), "edited_by_hand": edited,
            "origin": "generated" if from_model else "drawn or loaded by hand"}
    if params.get("model"):
        more["model"] = params["model"]
    more.update(extra or {})
    return make_recipe(plugin_id=src.get("plugin_id", ""), plugin_version=src.get("plugin_version", ""),
                       run_id=src.get("run_id", ""), run_path=src.get("run_path"),
                       checkpoint_sha256=src.get("checkpoint_sha256"), checkpoint_step=src.get("checkpoint_step"),
                       checkpoint_path=src.get("checkpoint_path"), seed=params.get("seed"),
                       modality="melody", sampling=sampling, extra=more)


def write_melody(path: str | Path, events: list[int], recipe: dict[str, Any], *, bpm: float, min_pitch: int,
                 render: Callable[[list[int]], Any], sample_rate: int, program: int,
                 time_signature: str | None = None, key: str | None = None, inputs: Sequence[str] = ()) -> Path:
    """``.mid`` / ``.midi`` as notes with ``program`` as its instrument, ``.wav`` / ``.flac`` as
    ``render(events)`` (a ``studio.core.audio.render.Rendering``, whose synth goes into the recipe);
    the caller already asked before replacing a file (the save dialog), so it is overwritten.
    ``inputs``: the artist's files the notes came from (ingredients of the Content Credentials)."""
    with user_inputs([p for p in inputs if Path(p).is_file()]):  # a moved file is not claimed
        return _write_melody(Path(path), events, recipe, bpm=bpm, min_pitch=min_pitch, render=render,
                             sample_rate=sample_rate, program=program, time_signature=time_signature, key=key)


def _write_melody(path: Path, events, recipe, *, bpm, min_pitch, render, sample_rate, program, time_signature,
                  key) -> Path:
    if path.suffix.lower() in (".mid", ".midi"):
        from studio.core.export.midi import save_midi

        return save_midi(events, path, recipe, bpm=bpm, program=program, min_pitch=min_pitch, overwrite=True,
                         time_signature=time_signature, key=key)
    from studio.core.export.audio import save_audio

    sound = render(events)
    return save_audio(sound.audio, path, {**recipe, "synth": sound.synth}, sample_rate=sample_rate, overwrite=True)


def restore_melody(panel, request) -> None:
    """Put a restored generation (a ``RestoreRequest``) into the Melody ``panel``: its notes (from its
    MIDI file), seed, temperature, top-k, top-p, length and the bar its primer ended at. With the notes
    back, a later export carries the same recipe (``request.source``: plugin, run, checkpoint)."""
    seed, sampling = request.seed, request.sampling
    if request.midi_file is not None and panel.load_midi(request.midi_file):
        panel.current_params = {**{k: sampling[k] for k in SAMPLING_KEYS if k in sampling},
                                "seed": seed, "source": dict(request.source)}
        panel._generated = None if request.edited else panel.events()
    if seed is not None:
        panel.seed.setValue(int(seed))
    for key, box, kind in (("temperature", panel.temperature, float), ("top_k", panel.top_k, int),
                           ("top_p", panel.top_p, float), ("length_bars", panel.bars, int)):
        if sampling.get(key) is not None:
            box.setValue(kind(sampling[key]))
    if sampling.get("length_bars") is None and sampling.get("length"):
        panel.bars.setValue(max(1, -(-int(sampling["length"]) // panel.bar_steps)))
    if sampling.get("primer_steps") is not None:
        panel.bar.setValue(int(sampling["primer_steps"]) // panel.bar_steps + 1)
