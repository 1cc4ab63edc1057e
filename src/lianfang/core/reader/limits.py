"""The caps on what one uploaded file may hold, in one place, and the refusals that name them.

A file past a cap is refused as a whole (:class:`ImportFileError`) before any row is checked or
stored: such a file is never a registry an office keeps in Excel, and reading it on would cost
memory or time out of all proportion to its size on disk (issue 10, item 5):

* :data:`MAX_CELL_CHARS` — characters in one cell. Excel itself holds at most 32,767 in a cell,
  so a longer one did not come from a spreadsheet. Checked on the Arrow columns, before any
  importer turns a column into fixed-width NumPy strings (a 100,000-character ID in a 229 KB
  file once took 4.1 GB that way).
* :data:`MAX_COLUMNS` — columns of the header, and cells in one XLSX row (a stray cell at
  XFD1048576 made a 16,384-cell row and a million rejected rows). The widest import has a dozen
  columns; 256 is Excel 2003's whole width.
* :data:`MAX_CELLS` — rows x columns of the table (10 M registry rows of 8 columns fit).
* :data:`MAX_EMPTY_ROWS` — consecutive empty XLSX rows before a row with data: a stray cell far
  below the table (K1048576) would otherwise make a million empty rows, each rejected.
* :data:`MAX_XLSX_UNPACKED` — the uncompressed size of all parts of an XLSX, read from the zip's
  directory before anything is unpacked (a 1.8 MB file once unpacked to 2 GB). A sheet of
  1,048,576 registry rows of 8 columns is ~300 MB unpacked.
* :data:`MAX_IMPORT_MEMORY_MB` — the memory ceiling the CLI and the background worker put on
  an import (``lianfang.imports.services.memory_ceiling``), overridable with the environment
  variable ``LIANFANG_IMPORT_MEMORY_MB`` (0: none).

Tests shrink these in this module (the readers read them at call time).
"""

from __future__ import annotations

from lianfang.core.reader.errors import ImportFileError

MAX_CELL_CHARS = 32_767
MAX_COLUMNS = 256
MAX_CELLS = 100_000_000
MAX_EMPTY_ROWS = 10_000
MAX_XLSX_UNPACKED = 512 << 20
MAX_IMPORT_MEMORY_MB = 8192


def _cell_too_long(column: str, row: int, length: int) -> ImportFileError:
    return ImportFileError(
        "cell_too_long",
        f"第 {row} 行“{column}”列的单元格有 {length:,} 个字符，超过上限 {MAX_CELL_CHARS:,}"
        "（Excel 单元格的上限）。请检查该单元格后重新上传。",
        f'The cell in column "{column}" on row {row} has {length:,} characters, more than the limit '
        f"of {MAX_CELL_CHARS:,} (Excel's own limit for a cell). Check that cell and upload again.",
    )


def _too_many_columns(count: int, where: str = "") -> ImportFileError:
    return ImportFileError(
        "too_many_columns",
        f"文件有 {count:,} 列{where and f'（{where}）'}，超过上限 {MAX_COLUMNS:,} 列。"
        "请删除导入用不到的列（或表格右侧、下方多余的单元格）后重新上传。",
        f"The file has {count:,} columns{where and f' ({where})'}, more than the limit of "
        f"{MAX_COLUMNS:,}. Delete the columns the import does not use (or stray cells to the "
        "right of or below the table) and upload again.",
    )


def _too_many_cells(count: int) -> ImportFileError:
    return ImportFileError(
        "too_many_cells",
        f"文件约有 {count:,} 个单元格，超过单个文件的上限 {MAX_CELLS:,}。请拆分成几个文件上传。",
        f"The file has about {count:,} cells, more than the limit of {MAX_CELLS:,} for one file. "
        "Split it into several files.",
    )


def _stray_cell(cell: str, empty: int) -> ImportFileError:
    return ImportFileError(
        "stray_cells",
        f"单元格 {cell} 之前有 {empty:,} 个连续的空行（上限 {MAX_EMPTY_ROWS:,}），"
        "它可能是表格下方多余的单元格。请删除后重新上传。",
        f"Cell {cell} comes after {empty:,} empty rows in a row (the limit is {MAX_EMPTY_ROWS:,}); "
        "it is probably a stray cell below the table. Delete it and upload again.",
    )


def _xlsx_too_big(size: int) -> ImportFileError:
    mib = MAX_XLSX_UNPACKED >> 20
    return ImportFileError(
        "xlsx_too_big",
        f"该 Excel 文件解压后有 {size >> 20:,} MB，超过上限 {mib:,} MB。"
        "请删除多余的工作表或格式，或另存为“CSV UTF-8（逗号分隔）”后上传。",
        f"This Excel file unpacks to {size >> 20:,} MB, more than the limit of {mib:,} MB. Remove "
        'extra sheets or formatting, or save it as "CSV UTF-8 (Comma delimited)" and upload that.',
    )


def _out_of_memory(limit_mb: int) -> ImportFileError:
    return ImportFileError(
        "out_of_memory",
        f"导入所需内存超过上限 {limit_mb:,} MB，已停止，未保存任何数据。请拆分文件后重新上传。",
        f"The import needed more than its memory limit of {limit_mb:,} MB and was stopped; nothing "
        "was stored. Split the file and upload the parts.",
    )
