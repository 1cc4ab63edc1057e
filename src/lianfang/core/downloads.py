"""Downloads of tables for people with Excel: CSV (UTF-8 with a BOM, so Excel shows Chinese) or XLSX."""

from __future__ import annotations

import csv
import io

from django.http import HttpResponse

from lianfang.core.reader import inert

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_response(
    *, header: list[str], rows: list[list], fmt: str, filename: str, sheet: str
) -> HttpResponse:
    """``rows`` as a CSV (UTF-8 with BOM, so Excel shows Chinese) or XLSX download.

    No cell is ever a live formula (OWASP "CSV injection": a person named ``=HYPERLINK(…)``):
    CSV text starting with ``= + - @``, a tab or a CR gets a leading ``'`` (:func:`inert`), and
    every XLSX text cell is written as text, whatever it starts with.
    """
    if fmt == "csv":
        buffer = io.StringIO()
        buffer.write("\ufeff")
        writer = csv.writer(buffer)
        writer.writerow([inert(v) for v in header])
        writer.writerows([inert(v) for v in row] for row in rows)
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    else:
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
        out = io.BytesIO()
        wb.save(out)
        response = HttpResponse(out.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
