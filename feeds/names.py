"""File names from the newsroom's disk: which can become ids, and how to show any of them.

A name on disk is bytes. Python hands names that are not UTF-8 over as strings
with lone surrogates, which SQLite, logs, URLs and HTML cannot carry. Ids come
from file names and are permanent (GUIDs, URLs), so a name that is not plain,
readable UTF-8 is never guessed at: the file is reported and skipped until the
newsroom renames it. Folder names are not part of any id, so a folder with an
odd name is still read; its paths are only ever shown through `shown`.
"""

from __future__ import annotations

import os
import re

# A static export writes <id>.html.gz and photos as <id>.<ext>: keep ids well
# inside the 255-byte file-name limit of common file systems.
MAX_ID_BYTES = 200

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROLS = {code: f"\\x{code:02x}" for code in (*range(32), 127)}


def shown(path: str) -> str:
    """The path as safe text for logs, `check`, SQLite and HTML: bad bytes as \\xNN."""
    if path.isprintable():
        return path
    raw = os.fsencode(path)
    return raw.decode("utf-8", "backslashreplace").translate(_CONTROLS)


def name_problem(name: str, extension: str) -> str | None:
    """Why a file name cannot give an id (None when it can); name includes the extension."""
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        return ("file name is not valid UTF-8 (a Windows-1251 name?); rename it,"
                " the id comes from the name; skipped")
    if _CONTROL.search(name):
        return "file name has control characters; rename it; skipped"
    if len(encoded) - len(extension) > MAX_ID_BYTES:
        return f"file name is longer than {MAX_ID_BYTES} bytes before {extension}; skipped"
    return None


def db_key(rel: str) -> str:
    """A path as SQLite text: itself when it is UTF-8, else "/" and its bytes in hex.

    Relative paths never start with "/", so the two forms never collide.
    """
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return "/" + os.fsencode(rel).hex()
    return rel


def from_db_key(key: str) -> str:
    return os.fsdecode(bytes.fromhex(key[1:])) if key.startswith("/") else key
