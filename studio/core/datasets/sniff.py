"""What a file really is, from its first bytes (extensions lie)."""
from __future__ import annotations

_MAGIC: list[tuple[bytes, int, str]] = [
    (b"\x89PNG\r\n\x1a\n", 0, "PNG image"),
    (b"\xff\xd8\xff", 0, "JPEG image"),
    (b"GIF87a", 0, "GIF image"),
    (b"GIF89a", 0, "GIF image"),
    (b"BM", 0, "BMP image"),
    (b"II*\x00", 0, "TIFF image"),
    (b"MM\x00*", 0, "TIFF image"),
    (b"WEBP", 8, "WebP image"),
    (b"MThd", 0, "MIDI file"),
    (b"RIFF", 0, "RIFF file (WAV/AVI/WebP)"),
    (b"%PDF", 0, "PDF document"),
    (b"PK\x03\x04", 0, "zip container (zip, docx, odt, epub, mxl)"),
    (b"PK\x05\x06", 0, "empty zip archive"),
    (b"\x1f\x8b", 0, "gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", 0, "7-Zip archive"),
    (b"Rar!", 0, "RAR archive"),
    (b"OggS", 0, "Ogg audio"),
    (b"fLaC", 0, "FLAC audio"),
    (b"ID3", 0, "MP3 audio"),
    (b"\x7fELF", 0, "program (ELF)"),
    (b"MZ", 0, "Windows program"),
    (b"\xd0\xcf\x11\xe0", 0, "old Microsoft Office document"),
    (b"SQLite format 3", 0, "SQLite database"),
    (b"\x00\x00\x00\x0cjP  ", 0, "JPEG 2000 image"),
]


def sniff(head: bytes) -> str | None:
    """A short name of the file type, or None when nothing is recognised."""
    for magic, offset, name in _MAGIC:
        if head[offset:offset + len(magic)] == magic:
            if name.startswith("RIFF") and head[8:12] == b"WEBP":
                return "WebP image"
            return name
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "MP4/HEIC/AVIF media"
    return None


def looks_binary(data: bytes) -> bool:
    """NUL bytes or many control characters in the first 8 KB (UTF-16 is checked before this)."""
    head = data[:8192]
    if not head:
        return False
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls / len(head) > 0.05
