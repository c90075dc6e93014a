"""The font every certificate PDF writes in: a TrueType font with Chinese glyphs, embedded as a subset.

reportlab embeds the glyphs a document uses from a TrueType font, so a certificate reads the same in
any viewer; one of reportlab's built-in CID fonts is only named, and shows empty boxes in a viewer
without a Chinese font. The composition root names the file (setting `CERTIFICATE_FONT_PATH`,
Debian's `fonts-wqy-microhei` by default); `certificate_font()` registers it once and gives the name
to draw with. No usable font is an error at PDF time, never a page of boxes.
"""

from __future__ import annotations

import logging
import threading

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

from services.kernel.errors import UpstreamError

log = logging.getLogger(__name__)

_lock = threading.Lock()
_path = ""
_names: dict[str, str] = {}  # font file → the name it was registered under


class CertificateFontMissing(UpstreamError):
    """No TrueType font with Chinese glyphs to embed: the certificate cannot be printed (503)."""

    code = "certificate_font_missing"


def configure(path: str) -> None:
    """Use the font file at `path` (a `.ttf`, or the first face of a `.ttc`); empty: none found."""
    global _path
    _path = path


def certificate_font_path() -> str:
    """The configured font file (share posters draw with it too); CertificateFontMissing when none."""
    if not _path:
        raise CertificateFontMissing(
            "no font with Chinese glyphs is installed for certificates: install Debian's "
            "fonts-wqy-microhei (bin/setup does) or set CERTIFICATE_FONT_PATH"
        )
    return _path


def certificate_font() -> str:
    """The registered name of the configured font; CertificateFontMissing when it cannot be used."""
    path = _path
    with _lock:
        if path in _names:
            return _names[path]
        if not path:
            raise CertificateFontMissing(
                "no font with Chinese glyphs is installed for certificates: install Debian's "
                "fonts-wqy-microhei (bin/setup does) or set CERTIFICATE_FONT_PATH"
            )
        name = f"CertificateFont{len(_names)}"
        try:
            pdfmetrics.registerFont(TTFont(name, path, subfontIndex=0))
        except (OSError, TTFError) as error:
            log.error("certificate font %s cannot be used: %s", path, error)
            raise CertificateFontMissing(
                "the certificate font (CERTIFICATE_FONT_PATH) is missing or not a TrueType font "
                "that can be embedded"
            ) from error
        _names[path] = name
        return name
