"""What makes a file unreadable as a whole: :class:`ImportFileError` and its messages."""

from __future__ import annotations

_SAVE_AS_ZH = "请在 Excel 中选择“另存为”，文件类型选“CSV UTF-8（逗号分隔）(*.csv)”后重新上传。"
_SAVE_AS_EN = (
    'In Excel choose "Save As" with file type "CSV UTF-8 (Comma delimited) (*.csv)" and upload again.'
)


class ImportFileError(Exception):
    """The file as a whole cannot be read.

    ``code`` is a stable machine-readable identifier: ``unreadable``,
    ``unknown_format``, ``no_header``, ``not_utf8``, ``empty_header``,
    ``duplicate_column``, ``unclosed_quote``.  ``str()`` gives
    ``"message_zh / message_en"``.
    """

    def __init__(self, code: str, message_zh: str, message_en: str):
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        super().__init__(f"{message_zh} / {message_en}")

    def __repr__(self) -> str:
        return f"ImportFileError({self.code!r}, {self.message_zh!r}, {self.message_en!r})"


def _unreadable(detail: object = None) -> ImportFileError:
    zh = "无法读取该文件，文件可能已损坏、被加密或不是所声明的格式。"
    en = "The file cannot be read; it may be damaged, password-protected or not in the declared format."
    if detail:
        zh += f"（{detail}）"
        en += f" ({detail})"
    return ImportFileError("unreadable", zh, en)


def _unknown_format(name: str, legacy_excel: bool = False) -> ImportFileError:
    if legacy_excel:
        return ImportFileError(
            "unknown_format",
            f"不支持旧版 Excel（.xls）或加密的文件：{name}。请另存为 .xlsx 或“CSV UTF-8（逗号分隔）”。",
            f"Legacy Excel (.xls) or encrypted files are not supported: {name}. "
            'Save it as .xlsx or "CSV UTF-8 (Comma delimited)".',
        )
    return ImportFileError(
        "unknown_format",
        f"无法识别文件格式：{name}。支持 CSV（UTF-8）、Excel（.xlsx）和 Parquet。",
        f"Unrecognised file format: {name}. Supported are CSV (UTF-8), Excel (.xlsx) and Parquet.",
    )


def _not_utf8(line: int | None) -> ImportFileError:
    where_zh = f"（第 {line} 行首次出现无法识别的字节）" if line else ""
    where_en = f" (first undecodable bytes on line {line})" if line else ""
    return ImportFileError(
        "not_utf8",
        f"文件不是 UTF-8 编码{where_zh}，可能是 Excel 的“CSV（逗号分隔）”格式保存的 GBK 编码。{_SAVE_AS_ZH}",
        f'The file is not UTF-8 encoded{where_en}; Excel\'s plain "CSV (Comma delimited)" '
        f"saves a legacy encoding such as GBK. {_SAVE_AS_EN}",
    )


def _no_header() -> ImportFileError:
    return ImportFileError(
        "no_header",
        "文件为空或第一行没有列名。第一行必须是表头（列名）。",
        "The file is empty or its first row has no column names. The first row must be the header.",
    )


def _column_label(index: int, fmt: str) -> str:
    """1-based position, with the Excel letter for XLSX."""
    if fmt != "xlsx":
        return str(index + 1)
    letters, n = "", index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{index + 1} ({letters})"


def _unclosed_quote(line: int) -> ImportFileError:
    return ImportFileError(
        "unclosed_quote",
        f'第 {line} 行开始的引号（"）没有闭合，文件其余部分无法正确拆分成行。',
        f'A quote (") opened in the record starting on line {line} is never closed, '
        "so the rest of the file cannot be split into rows.",
    )
