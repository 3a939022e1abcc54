"""XMP packets (Adobe's RDF metadata) carrying the recipe and the IPTC disclosure.

Written into PNG (``XML:com.adobe.xmp`` iTXt), JPEG and WebP. Standard
properties let other tools see the disclosure (``Iptc4xmpExt:DigitalSourceType``,
``dc:description``, ``xmp:CreatorTool``); the full recipe sits in a studio
property as JSON so the studio can restore the generation.
"""
from __future__ import annotations

import html
import re
from typing import Any

from studio.core.export.provenance import DISCLOSURE_LINE, IPTC_DIGITAL_SOURCE_TYPE, GENERATOR, from_json, to_json

STUDIO_NS = "https://generative-studio.invalid/ns/provenance/1.0/"
_RECIPE_RE = re.compile(r"<studio:recipe>(.*?)</studio:recipe>", re.S)
_MAX_XMP = 4 * 1024 * 1024


def xmp_packet(recipe: dict[str, Any]) -> bytes:
    esc = html.escape
    body = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        '    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"\n'
        f'    xmlns:studio="{STUDIO_NS}"\n'
        f'    Iptc4xmpExt:DigitalSourceType="{esc(IPTC_DIGITAL_SOURCE_TYPE)}"\n'
        f'    xmp:CreatorTool="{esc(GENERATOR)}">\n'
        f'   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{esc(DISCLOSURE_LINE)}</rdf:li></rdf:Alt></dc:description>\n'
        f'   <studio:recipe>{esc(to_json(recipe), quote=False)}</studio:recipe>\n'
        '  </rdf:Description>\n'
        ' </rdf:RDF>\n'
        '</x:xmpmeta>\n'
        '<?xpacket end="w"?>')
    return body.encode("utf-8")


def recipe_from_xmp(data: bytes | str, source: str = "<xmp>") -> dict[str, Any] | None:
    """The studio recipe inside an XMP packet, or ``None`` when there is none.

    A regex rather than an XML parser: dropped files are untrusted and we only
    need our own element (no entity expansion, bounded size).
    """
    if isinstance(data, bytes):
        data = data[:_MAX_XMP].decode("utf-8", "replace")
    m = _RECIPE_RE.search(data[:_MAX_XMP])
    if not m:
        return None
    return from_json(html.unescape(m.group(1)), source)


def xmp_source_type(data: bytes | str) -> str | None:
    if isinstance(data, bytes):
        data = data[:_MAX_XMP].decode("utf-8", "replace")
    m = re.search(r'Iptc4xmpExt:DigitalSourceType="([^"]*)"', data)
    return html.unescape(m.group(1)) if m else None
