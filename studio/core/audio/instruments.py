"""General MIDI instruments: program numbers 0-127 and their standard names.

The program chosen for a melody goes into its MIDI file (a ``program_change``),
selects the SoundFont preset that renders its audio and is written into the
recipe, so the preview, the audio file and a DAW play the same instrument.
"""
from __future__ import annotations

# Flute: the Essen folk songs and most folk tunes are sung, single-line melodies with held notes. A
# wind instrument sustains a held note as a voice does (a piano's note dies away), and it is a
# folk instrument itself (whistle, recorder, fife).
DEFAULT_PROGRAM = 73

GM_PROGRAMS = (
    "Acoustic Grand Piano", "Bright Acoustic Piano", "Electric Grand Piano", "Honky-tonk Piano",
    "Electric Piano 1", "Electric Piano 2", "Harpsichord", "Clavinet",
    "Celesta", "Glockenspiel", "Music Box", "Vibraphone", "Marimba", "Xylophone", "Tubular Bells", "Dulcimer",
    "Drawbar Organ", "Percussive Organ", "Rock Organ", "Church Organ", "Reed Organ", "Accordion", "Harmonica",
    "Tango Accordion",
    "Acoustic Guitar (nylon)", "Acoustic Guitar (steel)", "Electric Guitar (jazz)", "Electric Guitar (clean)",
    "Electric Guitar (muted)", "Overdriven Guitar", "Distortion Guitar", "Guitar Harmonics",
    "Acoustic Bass", "Electric Bass (finger)", "Electric Bass (pick)", "Fretless Bass", "Slap Bass 1",
    "Slap Bass 2", "Synth Bass 1", "Synth Bass 2",
    "Violin", "Viola", "Cello", "Contrabass", "Tremolo Strings", "Pizzicato Strings", "Orchestral Harp", "Timpani",
    "String Ensemble 1", "String Ensemble 2", "Synth Strings 1", "Synth Strings 2", "Choir Aahs", "Voice Oohs",
    "Synth Voice", "Orchestra Hit",
    "Trumpet", "Trombone", "Tuba", "Muted Trumpet", "French Horn", "Brass Section", "Synth Brass 1", "Synth Brass 2",
    "Soprano Sax", "Alto Sax", "Tenor Sax", "Baritone Sax", "Oboe", "English Horn", "Bassoon", "Clarinet",
    "Piccolo", "Flute", "Recorder", "Pan Flute", "Blown Bottle", "Shakuhachi", "Whistle", "Ocarina",
    "Lead 1 (square)", "Lead 2 (sawtooth)", "Lead 3 (calliope)", "Lead 4 (chiff)", "Lead 5 (charang)",
    "Lead 6 (voice)", "Lead 7 (fifths)", "Lead 8 (bass + lead)",
    "Pad 1 (new age)", "Pad 2 (warm)", "Pad 3 (polysynth)", "Pad 4 (choir)", "Pad 5 (bowed)", "Pad 6 (metallic)",
    "Pad 7 (halo)", "Pad 8 (sweep)",
    "FX 1 (rain)", "FX 2 (soundtrack)", "FX 3 (crystal)", "FX 4 (atmosphere)", "FX 5 (brightness)",
    "FX 6 (goblins)", "FX 7 (echoes)", "FX 8 (sci-fi)",
    "Sitar", "Banjo", "Shamisen", "Koto", "Kalimba", "Bagpipe", "Fiddle", "Shanai",
    "Tinkle Bell", "Agogo", "Steel Drums", "Woodblock", "Taiko Drum", "Melodic Tom", "Synth Drum", "Reverse Cymbal",
    "Guitar Fret Noise", "Breath Noise", "Seashore", "Bird Tweet", "Telephone Ring", "Helicopter", "Applause",
    "Gunshot",
)
assert len(GM_PROGRAMS) == 128

LIST_HINT = "see every name with `studio generate --program list`"


def program_name(program: int) -> str:
    """The General MIDI name of ``program`` (0-127)."""
    return GM_PROGRAMS[check_program(program)]


def check_program(program: int) -> int:
    program = int(program)
    if not 0 <= program <= 127:
        raise ValueError(f"instrument program {program} is out of range: General MIDI programs are 0-127")
    return program


def _key(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def parse_program(value: int | str) -> int:
    """A program number from ``73``, ``"73"``, ``"Flute"`` or an unambiguous part of a name
    (``"nylon"``); case, spaces and punctuation do not matter. Raises ValueError naming the problem."""
    if isinstance(value, int):
        return check_program(value)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return check_program(int(text))
    key = _key(text)
    if not key:
        raise ValueError(f"no instrument given; {LIST_HINT}")
    exact = [i for i, name in enumerate(GM_PROGRAMS) if _key(name) == key]
    if exact:
        return exact[0]
    partial = [i for i, name in enumerate(GM_PROGRAMS) if key in _key(name)]
    if len(partial) == 1:
        return partial[0]
    if partial:
        some = ", ".join(f"{GM_PROGRAMS[i]} ({i})" for i in partial[:6])
        raise ValueError(f"instrument {text!r} is ambiguous: {some}{', …' if len(partial) > 6 else ''}")
    raise ValueError(f"unknown instrument {text!r}: give a General MIDI program 0-127 or its name; {LIST_HINT}")


def program_table() -> str:
    """Every program with its number, one a line (what ``--program list`` prints)."""
    return "\n".join(f"{i:>3}  {name}" for i, name in enumerate(GM_PROGRAMS))
