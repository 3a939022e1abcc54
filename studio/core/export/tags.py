"""Where the studio's words go in exported sound and video tags (written with mutagen).

Every tag set says the same three things in the fields players show for them: the disclosure line
in a description/comment field, the recipe JSON in the comment field the studio reads back, and
again under a key of the studio's own (so a tool can find it without parsing comments):

=========  ==============================  ==============================  ==================================
format     disclosure                      recipe (read back)              studio's own key
=========  ==============================  ==============================  ==================================
FLAC       ``DESCRIPTION``                 ``COMMENT``                     ``GENERATIVE_STUDIO_RECIPE``
WAV (ID3)  ``COMM`` (the comment)          (RIFF ``INFO/ICMT``, audio.py)  ``TXXX:GENERATIVE_STUDIO_RECIPE``
MP4        ``desc`` (description)          ``©cmt`` (comment)              ``----:com.generativestudio:recipe``
=========  ==============================  ==============================  ==================================

The artist's own fields (FLAC ``ARTIST``/``COPYRIGHT``, ID3 ``TPE1``/``TCOP``, MP4 ``©ART``/``cprt``)
are never written: they belong to the artist, who fills them in with any tag editor. Title, software
and date are written as before. Nothing here adds a time of day, so the same seed gives the same
bytes (``STUDIO_CONTENT_CREDENTIALS=off``). Tags are written before the file is signed: the
Content Credentials' hash covers these bytes.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from studio.core.export.provenance import DISCLOSURE_LINE, GENERATOR, finalize, source_label, to_json

#: The studio's own key for the recipe JSON (Vorbis comment name; ID3 TXXX description).
RECIPE_KEY = "GENERATIVE_STUDIO_RECIPE"
#: MP4 freeform atom (``----:mean:name``) for the recipe JSON.
MP4_RECIPE_ATOM = "----:com.generativestudio:recipe"
#: Fields the studio leaves to the artist in every format (tests check they stay empty).
ARTIST_FIELDS = {"flac": ("ARTIST", "COPYRIGHT", "PERFORMER"), "id3": ("TPE1", "TCOP", "TCOM"),
                 "mp4": ("©ART", "aART", "cprt", "©wrt")}


def export_fields(recipe: dict[str, Any] | None) -> dict[str, str]:
    """The words every tag set carries (format-neutral names)."""
    recipe = finalize(recipe)
    return {"title": source_label(recipe), "description": DISCLOSURE_LINE, "comment": to_json(recipe),
            "software": GENERATOR, "date": recipe["created"]}


def tag_flac(data: bytes, recipe: dict[str, Any] | None) -> bytes:
    """FLAC bytes with the studio's Vorbis comments (replacing any the encoder wrote)."""
    from mutagen.flac import FLAC

    f = export_fields(recipe)
    buf = io.BytesIO(data)
    audio = FLAC(buf)
    if audio.tags is None:
        audio.add_tags()
    audio.tags.clear()
    for key, value in (("TITLE", f["title"]), ("DESCRIPTION", f["description"]), ("COMMENT", f["comment"]),
                       (RECIPE_KEY, f["comment"]), ("ENCODER", f["software"]), ("DATE", f["date"])):
        audio.tags[key] = value
    buf.seek(0)  # mutagen's FLAC writer starts from where the stream is
    audio.save(buf)
    return buf.getvalue()


def tag_wav(data: bytes, recipe: dict[str, Any] | None) -> bytes:
    """WAV bytes with an ID3 chunk (``id3 ``) beside the RIFF INFO chunk: players that read ID3 in WAV
    (most music libraries) show the disclosure as the comment and find the recipe under the studio's key."""
    from mutagen.id3 import COMM, TDRC, TIT2, TSSE, TXXX
    from mutagen.wave import WAVE

    f = export_fields(recipe)
    buf = io.BytesIO(data)
    audio = WAVE(buf)
    if audio.tags is None:
        audio.add_tags()
    audio.tags.clear()
    audio.tags.add(TIT2(encoding=3, text=f["title"]))
    audio.tags.add(COMM(encoding=3, lang="eng", desc="", text=f["description"]))
    audio.tags.add(TXXX(encoding=3, desc=RECIPE_KEY, text=f["comment"]))
    audio.tags.add(TSSE(encoding=3, text=f["software"]))
    audio.tags.add(TDRC(encoding=3, text=f["date"]))
    buf.seek(0)
    audio.save(buf, v2_version=3)  # ID3v2.3: what Windows and most WAV-aware players read
    return buf.getvalue()


def tag_mp4(path: str | Path, recipe: dict[str, Any] | None) -> None:
    """Tag an MP4 in place (after ffmpeg has written it; mutagen moves the chunk offsets, so a
    ``+faststart`` index stays right). The file is not read into memory."""
    from mutagen.mp4 import MP4, MP4FreeForm

    f = export_fields(recipe)
    video = MP4(str(path))
    if video.tags is None:
        video.add_tags()
    video.tags.clear()  # ffmpeg's own ©too (its library version) gives way to the studio's name
    video.tags.update({"©nam": [f["title"]], "desc": [f["description"]], "©cmt": [f["comment"]],
                       "©too": [f["software"]], "©day": [f["date"]],
                       MP4_RECIPE_ATOM: [MP4FreeForm(f["comment"].encode("utf-8"))]})
    video.save()
