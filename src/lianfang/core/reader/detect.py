"""Which format a file is in: its declared name or extension, then its magic bytes."""

from __future__ import annotations

import os
from pathlib import PurePath

from lianfang.core.reader.errors import _unknown_format, _unreadable

FORMATS = ("csv", "xlsx", "parquet")

_EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_LEGACY_EXCEL_EXTENSIONS = {".xls", ".et", ".ods", ".numbers"}
_ZIP_MAGIC = b"PK\x03\x04"
_PARQUET_MAGIC = b"PAR1"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, password-protected .xlsx


def _head(path, size: int = 8) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except OSError as e:
        raise _unreadable(e.strerror or type(e).__name__) from e


def _sniff(head: bytes) -> str | None:
    if head.startswith(_ZIP_MAGIC):
        return "xlsx"
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    return None


def detect_format(path, declared: str | None = None) -> str:
    """Return ``'csv'``, ``'xlsx'`` or ``'parquet'``.

    ``declared`` is either a format name (``"csv"``, ``".xlsx"``…) or the file name
    the user gave (the upload's original name; the temp file on disk may have none).
    Without it the extension of ``path`` is used.  A known extension decides,
    except that positive magic bytes of the other binary format win (a renamed
    ``.xlsx`` saved as ``.csv``).  With no extension the magic bytes decide and
    anything else is CSV.  An unknown extension is accepted only if the magic bytes
    identify the file; otherwise ``ImportFileError('unknown_format')``.
    """
    name = os.fspath(declared) if declared is not None else os.fspath(path)
    plain = name.strip().lower().lstrip(".")
    if plain in FORMATS:
        ext = "." + plain
    else:
        ext = PurePath(name.strip()).suffix.lower()
    head = _head(path)
    magic = _sniff(head)
    fmt = _EXTENSIONS.get(ext)
    if fmt is not None:
        return magic if magic is not None and magic != fmt else fmt
    if magic is not None:
        return magic
    shown = PurePath(name).name or name
    if head.startswith(_OLE2_MAGIC):
        raise _unknown_format(shown, legacy_excel=True)
    if ext in _LEGACY_EXCEL_EXTENSIONS:
        raise _unknown_format(shown, legacy_excel=True)
    if ext == "":
        return "csv"
    raise _unknown_format(shown)
