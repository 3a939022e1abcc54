"""General MIDI SoundFont rendering (tinysoundfont), with the numpy synth as the fallback.

Which SoundFont: the user's own ``.sf2`` chosen in Preferences (kept in ``audio.json`` in the
config folder, so the CLI uses it too), else the General MIDI bank that ``pretty_midi``'s wheel
carries (``TimGM6mb.sf2``, found without importing pretty_midi). A missing, odd or broken file is
named with its reason once in the log and the next choice is used; with no usable SoundFont or
no tinysoundfont the numpy synth plays. Nothing here raises on a bad SoundFont.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

BUILTIN_NAME = "TimGM6mb.sf2"
PREFS_FILE = "audio.json"
# tinysoundfont holds every sample in memory as float (about twice the file): bound what we load
MAX_BYTES = 512 * 1024 * 1024
_reported: set[str] = set()


class SoundFontError(ValueError):
    """A SoundFont file that cannot be used, with the file and the reason."""


def say_once(message: str) -> None:
    if message not in _reported:
        _reported.add(message)
        log.warning("%s", message)


# -- where the SoundFont comes from ------------------------------------------------------------
def builtin_soundfont() -> Path | None:
    """pretty_midi's General MIDI SoundFont, or None when pretty_midi is not installed."""
    try:
        spec = importlib.util.find_spec("pretty_midi")  # finds the package without running it
    except (ImportError, ValueError):
        return None
    folders = list(getattr(spec, "submodule_search_locations", None) or []) if spec else []
    for folder in folders:
        path = Path(folder) / BUILTIN_NAME
        if path.is_file():
            return path
    return None


def _prefs_path() -> Path:
    from studio.core import paths
    return paths.config_dir() / PREFS_FILE


def chosen_soundfont() -> Path | None:
    """The SoundFont chosen in Preferences (not checked here), or None for the built-in one."""
    path = _prefs_path()
    if not path.is_file():
        return None
    from studio.core.fileio import read_json
    try:
        value = read_json(path, max_bytes=64 * 1024)
    except (OSError, ValueError) as exc:
        say_once(f"preferences: {exc}; using the built-in SoundFont")
        return None
    sf = value.get("soundfont") if isinstance(value, dict) else None
    return Path(sf) if isinstance(sf, str) and sf else None


def choose_soundfont(path: str | Path | None) -> Path | None:
    """Keep ``path`` as the user's SoundFont (None: back to the built-in one). A file that cannot
    be used is refused with :class:`SoundFontError` and the choice is left as it was."""
    from studio.core.fileio import atomic_write_json

    if path is not None:
        path = Path(path).expanduser().resolve()
        _load(path, 44100)  # refuse it now, in words, rather than at the next Play
    atomic_write_json(_prefs_path(), {"soundfont": str(path) if path else None})
    return path


def check_soundfont(path: str | Path) -> Path:
    """``path`` if it looks like a SoundFont we can load: a regular file (never a folder or a FIFO,
    which would block on open), at most ``MAX_BYTES``, starting with a RIFF ``sfbk`` header."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise SoundFontError(f"{path}: SoundFont file not found") from None
    except OSError as exc:
        raise SoundFontError(f"{path}: cannot read the SoundFont ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise SoundFontError(f"{path}: not a regular file, so not a SoundFont")
    if st.st_size > MAX_BYTES:
        raise SoundFontError(f"{path}: {st.st_size / 2**20:.0f} MiB is larger than the "
                             f"{MAX_BYTES // 2**20} MiB SoundFont the studio loads")
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except OSError as exc:
        raise SoundFontError(f"{path}: cannot read the SoundFont ({exc.strerror or exc})") from None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise SoundFontError(f"{path}: not a SoundFont 2 file (it does not start with a RIFF 'sfbk' header)")
    return path


# -- loading (one cached synth: loading a large bank for every note would stall the UI) ----------
@dataclass
class _Loaded:
    key: tuple
    synth: object
    sfid: int


_cache: _Loaded | None = None
_failed: dict[tuple, str] = {}  # files tinysoundfont refused, by (path, size, mtime): not parsed again each Play
_lock = threading.Lock()  # the cached synth holds playing voices: one render at a time


def _load(path: Path, sample_rate: int) -> _Loaded:
    global _cache
    path = check_soundfont(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, int(sample_rate))
    if _cache is not None and _cache.key == key:
        return _cache
    if key in _failed:
        raise SoundFontError(_failed[key])
    try:
        import tinysoundfont
    except Exception as exc:  # noqa: BLE001 - as in _tinysoundfont_missing
        raise SoundFontError(f"{path}: cannot be played, tinysoundfont is not available ({exc})") from None
    synth = tinysoundfont.Synth(samplerate=int(sample_rate))
    try:
        sfid = synth.sfload(str(path))
    except Exception as exc:  # noqa: BLE001 - tinysoundfont raises RuntimeError; never crash on a bad file
        _failed[key] = f"{path}: not a usable SoundFont ({exc})"
        raise SoundFontError(_failed[key]) from None
    _cache = _Loaded(key, synth, sfid)
    return _cache


@dataclass
class SynthChoice:
    """What plays melodies: ``engine`` "soundfont" (with ``path``) or "numpy", and why."""
    engine: str
    path: Path | None = None
    source: str = ""                       # "preferences" or "built-in"
    notes: list[str] = field(default_factory=list)  # why a choice was passed over

    def to_dict(self) -> dict:
        return {"engine": self.engine, "soundfont": str(self.path) if self.path else None,
                "source": self.source or None, "notes": list(self.notes)}

    def describe(self) -> str:
        if self.engine == "soundfont":
            return f"SoundFont {self.path} ({self.source})"
        return "built-in numpy synth (no usable SoundFont)"


def _candidates() -> list[tuple[Path | None, str]]:
    return [(chosen_soundfont(), "preferences"), (builtin_soundfont(), "built-in")]


def _tinysoundfont_missing() -> str:
    """Why tinysoundfont cannot be imported ("" when it can): not installed, or its library fails to load."""
    try:
        import tinysoundfont  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - ImportError, or OSError from a broken native library
        return f"{type(exc).__name__}: {exc}"
    return ""


def current_synth(sample_rate: int = 44100) -> tuple[SynthChoice, _Loaded | None]:
    """The first usable SoundFont (preferences, then built-in) loaded, or the numpy fallback;
    every reason a choice was skipped is logged once."""
    notes: list[str] = []
    missing = _tinysoundfont_missing()
    if missing:
        notes.append(f"tinysoundfont cannot be used ({missing}); melodies use the built-in numpy synth")
    else:
        for path, source in _candidates():
            if path is None:
                if source == "built-in":
                    notes.append(f"no built-in SoundFont ({BUILTIN_NAME} comes with the pretty_midi package)")
                continue
            try:
                loaded = _load(path, sample_rate)
            except SoundFontError as exc:
                fallback = "the built-in SoundFont" if source == "preferences" else "the numpy synth"
                notes.append(f"{exc}; using {fallback}")
                continue
            for n in notes:
                say_once(n)
            return SynthChoice("soundfont", path, source, notes), loaded
    for n in notes:
        say_once(n)
    return SynthChoice("numpy", None, "", notes), None


def render_sf(loaded: _Loaded, notes, n_steps: int, step_s: float, program: int, sample_rate: int,
              tail: float, velocity: int = 90) -> np.ndarray:
    """Mono float32 of ``notes`` (16th-step ``Note``s) played by ``program``; not normalised."""
    sr = int(sample_rate)
    step = step_s * sr
    total = int(round(n_steps * step)) + int(round(tail * sr))
    timeline = []  # (sample, 0 off | 1 on, pitch): offs first, so a repeated pitch restarts
    for n in notes:
        pitch = max(0, min(127, int(n.pitch)))
        timeline.append((int(round(n.start * step)), 1, pitch))
        timeline.append((int(round((n.start + n.duration) * step)), 0, pitch))
    timeline.sort()
    stereo = np.zeros((total, 2), dtype=np.float32)
    with _lock:
        synth, sfid = loaded.synth, loaded.sfid
        # voices left from the last render: stopped with a quick fade, so render the fade away or it
        # would leak into this one (and the same melody would not give the same samples)
        synth.sounds_off()
        synth.generate_simple(int(0.1 * sr))
        try:
            synth.program_select(0, sfid, 0, int(program))
        except Exception as exc:  # noqa: BLE001 - a user's bank without this preset
            say_once(f"the SoundFont has no instrument for program {program} ({exc}); using its first preset")
            synth.program_select(0, sfid, 0, 0)
        pos = 0
        for at, on, pitch in timeline + [(total, -1, 0)]:
            at = min(at, total)
            if at > pos:
                synth.generate_simple(at - pos, buffer=memoryview(stereo[pos:at]).cast("B"))
                pos = at
            if on == 1:
                synth.noteon(0, pitch, velocity)
            elif on == 0:
                synth.noteoff(0, pitch)
    mono = stereo.mean(axis=1)
    fade = min(len(mono), int(0.01 * sr))  # notes still ringing at the end: fade rather than click
    if fade:
        mono[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return mono
