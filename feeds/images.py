"""Photo sniffing: what an image file really is, and whether it is whole."""

from __future__ import annotations

import warnings

from PIL import Image

from .model import Photo

_FORMAT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}

# Pillow reads only the header; these trailers catch files cut short in transfer.
_TAIL_BYTES = 64


class ImageError(ValueError):
    """The file is not a usable photo (empty, truncated, or not an image)."""


def _looks_complete(mime_type: str, head: bytes, tail: bytes, size: int) -> bool:
    if mime_type == "image/jpeg":
        return b"\xff\xd9" in tail
    if mime_type == "image/png":
        return b"IEND" in tail
    if mime_type == "image/webp":
        return int.from_bytes(head[4:8], "little") + 8 <= size
    if mime_type == "image/gif":
        return tail.endswith(b";")
    return False


def sniff_photo(path: str, size: int, mtime_ns: int = 0) -> Photo:
    """Describe the image at path from its content, or raise ImageError."""
    if size <= 0:
        raise ImageError("photo file is empty")
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
            fh.seek(max(0, size - _TAIL_BYTES))
            tail = fh.read(_TAIL_BYTES)
            fh.seek(0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with Image.open(fh) as image:
                    kind, (width, height) = image.format, image.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise ImageError("not a readable image") from None
    mime_type = _FORMAT_TYPES.get(kind or "")
    if mime_type is None:
        raise ImageError(f"unsupported image format {kind}")
    if not _looks_complete(mime_type, head, tail, size):
        raise ImageError(f"truncated {kind} file")
    return Photo(path=path, size=size, mime_type=mime_type, width=width, height=height,
                 mtime_ns=mtime_ns)
