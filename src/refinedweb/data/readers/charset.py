"""Bytes → text for web payloads: the declared charset (HTTP header, then ``<meta>``), then strict UTF-8, then
charset-normalizer's guess on a prefix. Binary payloads mislabelled as HTML are detected by NUL bytes and refused."""

from __future__ import annotations

import codecs
import re
import zlib

from refinedweb.errors import InputError

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:.]+)""", re.IGNORECASE)
_SNIFF_BYTES = 4096
_GUESS_BYTES = 65536


def _normalise(name: str | None) -> str | None:
    if not name:
        return None
    try:
        codec = codecs.lookup(name.strip().strip("'\"").lower())
    except LookupError:
        return None
    # Browsers treat latin-1 and ascii labels as windows-1252 (WHATWG encoding standard).
    return "cp1252" if codec.name in ("latin-1", "iso8859-1", "ascii") else codec.name


def decode_content(body: bytes, encoding: str | None) -> bytes:
    """Undo an HTTP Content-Encoding, leniently: archives such as ClueWeb store the decoded body but keep the
    header, so the body is decompressed only when its bytes really are compressed; a truncated stream gives what
    could be decompressed."""
    encoding = (encoding or "").strip().lower()
    if encoding in ("gzip", "x-gzip") and body[:2] == b"\x1f\x8b":
        return _inflate(body, 16 + zlib.MAX_WBITS)
    if encoding == "deflate" and body[:1] in (b"\x78", b"\x58", b"\x68"):
        return _inflate(body, zlib.MAX_WBITS)
    if encoding == "br":
        try:
            import brotli

            return brotli.decompress(body)
        except Exception:  # brotli missing, or the body was stored decoded
            return body
    return body


def _inflate(body: bytes, wbits: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    try:
        return inflater.decompress(body) + inflater.flush()
    except zlib.error:
        raise InputError("corrupt_content_encoding") from None


def looks_binary(payload: bytes) -> bool:
    head = payload[:_SNIFF_BYTES]
    return b"\x00" in head or head.startswith((b"\x89PNG", b"GIF8", b"%PDF", b"\xff\xd8\xff", b"PK\x03\x04"))


def decode_html(payload: bytes, http_charset: str | None = None) -> tuple[str, str]:
    """Return (text, charset used). Raise InputError('binary_payload' | 'undecodable') when it is not text."""
    if looks_binary(payload):
        raise InputError("binary_payload")
    declared = _normalise(http_charset)
    if declared is None:
        match = _META_CHARSET.search(payload[:_SNIFF_BYTES])
        declared = _normalise(match.group(1).decode("ascii", "ignore")) if match else None
    if declared and declared not in ("utf-8", "utf_8"):
        try:
            return payload.decode(declared), declared
        except (UnicodeDecodeError, LookupError):
            pass  # a wrong declaration is common; fall through to detection
    try:
        return payload.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(payload[:_GUESS_BYTES]).best()
    if best is None:
        raise InputError("undecodable")
    text = payload.decode(best.encoding, errors="replace")
    if text.count("\ufffd") > max(10, len(text) // 100):
        raise InputError("undecodable")
    return text, best.encoding
