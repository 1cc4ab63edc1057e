"""Imports people can do without the manual (issue 11, item 5): what each column of a kind takes,
listed on its upload page, and a template to fill in (XLSX: Chinese headers, an example row, the
column text format for codes, a sheet of instructions). Everything comes from the importer's own
column declaration (``import_columns()``: lianfang.core.fields.Column), so a new kind from
another app (cases, contacts, zones) gets its guide and template by declaring its columns."""

from __future__ import annotations

import io

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from lianfang.core import plugins
from lianfang.core.fields import Column


def columns_of(kind: str) -> dict[str, Column] | None:
    """The declared columns of an import kind (None: the kind declares none, or is unknown)."""
    importer = plugins.importers().get(kind)
    if importer is None or importer.files != "one":
        return None
    declared = getattr(plugins.resolve(importer.run), "columns", None)
    return declared() if declared else None


def _english() -> bool:
    return (get_language() or "").startswith("en")


def import_guide(kind: str) -> list[dict]:
    """One entry per column, in the declaration's order, in the page's language."""
    columns = columns_of(kind) or {}
    en = _english()
    return [
        {
            "code": code,
            "label": rule.label or code,
            "required": rule.required,
            "note": rule.note[1 if en else 0],
            "allowed": [(value, english if en else chinese) for value, chinese, english in rule.allowed],
            "max_length": rule.max_length,
        }
        for code, rule in columns.items()
    ]


def import_template(kind: str) -> bytes:
    """The XLSX template of ``kind``: its first sheet the header (Chinese labels) and one example
    row, every column formatted as text (an ID number stays 18 digits in Excel); a second sheet
    says what each column takes. The first sheet is what the reader reads, so the template as
    downloaded imports its example row."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    columns = columns_of(kind)
    if not columns:
        raise KeyError(kind)
    importer = plugins.importer(kind)
    wb = Workbook()
    data = wb.active
    data.title = importer.label[0][:31]
    bold = Font(bold=True)
    required_fill = PatternFill("solid", fgColor="FFF2CC")
    for i, (code, rule) in enumerate(columns.items(), start=1):
        letter = get_column_letter(i)
        head = data.cell(row=1, column=i, value=rule.label or code)
        head.font = bold
        if rule.required:
            head.fill = required_fill
        example = data.cell(row=2, column=i, value=rule.example)
        example.data_type = "s"
        example.number_format = "@"
        data.column_dimensions[letter].width = max(12, len(rule.label or code) * 2 + 4, len(rule.example) + 4)
        for row in range(3, 1002):  # typed values stay text (no 3.50582E+17)
            data.cell(row=row, column=i).number_format = "@"
    data.freeze_panes = "A2"

    notes = wb.create_sheet(_("填写说明")[:31])
    notes.append([_("列名（中文）"), _("英文代码"), _("必填"), _("填写说明"), _("可选值")])
    for cell in notes[1]:
        cell.font = bold
    for row in import_guide(kind):
        notes.append(
            [
                row["label"],
                row["code"],
                _("是") if row["required"] else "",
                row["note"],
                "、".join(f"{text}（{value}）" if text != value else value for value, text in row["allowed"]),
            ]
        )
    notes.append([])
    for line in (
        _("表头可用中文列名，也可用英文代码；列的顺序不限，多余的列不导入。"),
        _("第 2 行是示例，导入前请替换或删除。黄色表头为必填列。"),
        _("也可以另存为 CSV（UTF-8）上传。"),
    ):
        notes.append([line])
    for letter, width in zip("ABCDE", (16, 18, 8, 60, 50), strict=True):
        notes.column_dimensions[letter].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def reason_rows(kind: str, reasons: dict[str, int]) -> list[dict]:
    """An import's rejection reasons as a page shows them: in the page's language, the column
    named by its label as well as its code, and what to change in the file."""
    from lianfang.core.summary import reason_fix, reason_text

    en = _english()
    labels = {code: rule.label for code, rule in (columns_of(kind) or {}).items() if rule.label}
    rows = []
    for reason, count in sorted(reasons.items()):
        base, _sep, column = reason.partition(":")
        text = reason_text(base)[1 if en else 0]
        if column:
            named = f"{labels[column]}（{column}）" if column in labels and not en else column
            text = f"{text}: {named}" if en else f"{text}：{named}"
        fix = reason_fix(base)
        rows.append(
            {"reason": reason, "count": count, "text": text, "fix": fix[1 if en else 0] if fix else ""}
        )
    return rows
