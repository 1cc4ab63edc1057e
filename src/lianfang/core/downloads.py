"""Downloads of tables for people with Excel: CSV (UTF-8 with a BOM, so Excel shows Chinese) or XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from django.http import HttpResponse

from lianfang.core.reader import inert

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_response(
    *, header: list[str], rows: Iterable[Sequence], fmt: str, filename: str, sheet: str
) -> HttpResponse:
    """``rows`` as a CSV (UTF-8 with BOM, so Excel shows Chinese) or XLSX download (see
    :func:`table_file`)."""
    body, _ = table_file(header=header, rows=rows, fmt=fmt, sheet=sheet)
    return download_response(body, fmt=fmt, filename=filename)


def table_file(*, header: list[str], rows: Iterable[Sequence], fmt: str, sheet: str) -> tuple[bytes, int]:
    """The file's bytes and how many rows it holds (for the audit record).

    ``rows`` is consumed once, row by row: only the finished file is held, never a list of the
    rows as Python objects, which for a town's 100,000 people took several times the file's size
    and stayed as the worker's high-water mark (the soak's growing exports, docs/performance.md).

    No cell is ever a live formula (OWASP "CSV injection": a person named ``=HYPERLINK(…)``):
    CSV text starting with ``= + - @``, a tab or a CR gets a leading ``'`` (:func:`inert`), and
    every XLSX text cell is written as text, whatever it starts with.
    """
    count = 0
    if fmt == "csv":
        out = io.BytesIO()
        text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=False)
        writer = csv.writer(text)
        writer.writerow([inert(v) for v in header])
        for row in rows:
            writer.writerow([inert(v) for v in row])
            count += 1
        text.flush()
        body = out.getvalue()
        text.detach()
        return body, count
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet[:31])

    def cells(values):
        out = []
        for v in values:
            cell = WriteOnlyCell(ws, value=v)
            if isinstance(v, str):
                cell.data_type = "s"  # openpyxl makes "=…" a formula ("f"); text stays text
            out.append(cell)
        return out

    ws.append(cells(header))
    for row in rows:
        ws.append(cells(row))
        count += 1
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), count


def download_response(body: bytes, *, fmt: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type="text/csv; charset=utf-8" if fmt == "csv" else XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
