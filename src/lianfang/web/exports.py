"""Downloads of people lists for grid workers (CSV with a BOM for Excel, or XLSX), masked per role."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from django.http import HttpResponse

from lianfang.accounts.scoping import Actor
from lianfang.people.presenters import person_public

# The columns of FORMATS.md's untested.csv, and of a registry export.
PEOPLE_COLUMNS = ["community_code", "id_type", "id_number", "name", "phone", "address", "tags"]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def people_rows(people: Iterable, actor: Actor) -> list[list[str]]:
    """One row per person in :data:`PEOPLE_COLUMNS`, masked as ``actor`` must see them."""
    rows = []
    for p in people:
        shown = person_public(p, actor)
        rows.append(
            [
                shown["community_code"],
                p.id_type,
                shown["id_number"],
                p.name,
                shown["phone"],
                shown["address"],
                p.tags,
            ]
        )
    return rows


def table_response(
    *, header: list[str], rows: list[list], fmt: str, filename: str, sheet: str
) -> HttpResponse:
    """``rows`` as a CSV (UTF-8 with BOM, so Excel shows Chinese) or XLSX download."""
    if fmt == "csv":
        buffer = io.StringIO()
        buffer.write("\ufeff")
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows(rows)
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    else:
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet(sheet[:31])
        ws.append(header)
        for row in rows:
            ws.append(row)
        out = io.BytesIO()
        wb.save(out)
        response = HttpResponse(out.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
