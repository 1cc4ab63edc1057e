"""The briefing as a press text, a DOCX (python-docx) and a PDF (headless Chromium, fonts embedded).

Unknown figures (a fact no installed app states) read "—", never 0.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from django.template.loader import render_to_string

from lianfang.command.services.briefing import KEYS, window_day
from lianfang.core.errors import Refused

DASH = "—"

LABELS = {
    "new_confirmed": ("新增确诊", "new confirmed"),
    "new_asymptomatic": ("新增无症状", "new asymptomatic"),
    "new_in_control": ("管控中发现", "found in control"),
    "new_in_society": ("社会面", "found in society"),
    "converted": ("无症状转确诊", "converted"),
    "cumulative": ("累计感染者", "cumulative"),
    "discharged": ("治愈出院", "discharged"),
    "close_under_control": ("密接在管", "close contacts under control"),
    "secondary_under_control": ("次密接在管", "secondary contacts under control"),
    "sampled": ("采样人次", "person-samples"),
}
FONT = "WenQuanYi Micro Hei"


class RenderFailed(Refused):
    def __init__(self, why: str):
        super().__init__("render_failed", f"PDF 生成失败：{why}", f"the PDF could not be rendered: {why}")


def _n(value) -> str:
    return DASH if value is None else str(value)


def press_text(briefing) -> str:
    """The press-conference paragraph (“3月25日0—24时，泉州市新增…其中社会面Y例”) for the city."""
    day = window_day(briefing.cutoff)
    areas = briefing.areas
    city = next((a for a in areas if len(a["code"]) == 4), areas[0] if areas else None)
    if city is None:
        return ""
    head = f"{day.month}月{day.day}日0—24时，{city['name']}"
    text = (
        f"{head}新增新冠肺炎确诊病例{_n(city['new_confirmed'])}例、无症状感染者{_n(city['new_asymptomatic'])}例，"
        f"其中闭环管控中发现{_n(city['new_in_control'])}例，社会面{_n(city['new_in_society'])}例。"
    )
    found = [
        f"{a['name']}{(a['new_confirmed'] or 0) + (a['new_asymptomatic'] or 0)}例"
        for a in areas
        if len(a["code"]) == 6 and ((a["new_confirmed"] or 0) + (a["new_asymptomatic"] or 0))
    ]
    if found:
        text += "新增感染者分布：" + "、".join(found) + "。"
    text += (
        f"当日无症状感染者转为确诊病例{_n(city['converted'])}例，治愈出院{_n(city['discharged'])}例。"
        f"截至{day.month}月{day.day}日24时，累计报告感染者{_n(city['cumulative'])}例；"
        f"在管密切接触者{_n(city['close_under_control'])}人、次密切接触者{_n(city['secondary_under_control'])}人。"
        f"当日采样{_n(city['sampled'])}人次。"
    )
    return text


def correction_lines(briefing) -> list[str]:
    lines = []
    for area in briefing.areas:
        for day, delta in sorted(area.get("corrections", {}).items()):
            parts = "，".join(f"{LABELS[k][0]}{v:+d}" for k, v in delta.items())
            lines.append(f"订正 {day}（{area['name']}）：{parts}")
    return lines


def _context(briefing) -> dict:
    return {
        "title": f"泉州市每日疫情通报（{window_day(briefing.cutoff):%Y-%m-%d}）",
        "press": press_text(briefing),
        "keys": [(k, LABELS[k][0]) for k in KEYS],
        "rows": [
            {"code": a["code"], "name": a["name"], "values": [_n(a[k]) for k in KEYS]} for a in briefing.areas
        ],
        "corrections": correction_lines(briefing),
        "edition": briefing.edition,
        "font": FONT,
        # The PDF's page is a local file: its stylesheet is read from the package's static files.
        "css_uri": (Path(__file__).parent / "static/lianfang/command/briefing_document.css").as_uri(),
    }


def _east_asian(run, font: str = FONT) -> None:
    from docx.oxml.ns import qn

    run.font.name = font
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), font)


def write_docx(briefing, path: Path) -> Path:
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.shared import Pt

    ctx = _context(briefing)
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = section.page_height, section.page_width
    _east_asian(doc.add_heading(level=1).add_run(ctx["title"]))
    _east_asian(doc.add_paragraph().add_run(ctx["press"]))
    table = doc.add_table(rows=1, cols=len(KEYS) + 1)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ["地区", *[label for _, label in ctx["keys"]]], strict=True):
        run = cell.paragraphs[0].add_run(text)
        run.font.size = Pt(8)
        _east_asian(run)
    for row in ctx["rows"]:
        cells = table.add_row().cells
        for cell, text in zip(cells, [row["name"], *row["values"]], strict=True):
            run = cell.paragraphs[0].add_run(text)
            run.font.size = Pt(8)
            _east_asian(run)
    for line in ctx["corrections"]:
        _east_asian(doc.add_paragraph().add_run(line))
    _east_asian(doc.add_paragraph().add_run(f"防控方案版本：{ctx['edition']}；“—”表示该数据尚未接入。"))
    doc.save(path)
    return path


def chromium() -> str:
    return os.environ.get("LIANFANG_CHROMIUM", "/usr/bin/chromium")


def write_pdf(briefing, path: Path) -> Path:
    """Render the briefing's HTML with headless Chromium (the fonts it uses are embedded)."""
    exe = chromium()
    if not (Path(exe).exists() or shutil.which(exe)):
        raise RenderFailed(f"Chromium not found at {exe} (LIANFANG_CHROMIUM)")
    html = render_to_string("lianfang/command/briefing_document.html", _context(briefing))
    with tempfile.TemporaryDirectory(prefix="lianfang-pdf-") as tmp:
        source = Path(tmp) / "briefing.html"
        source.write_text(html, encoding="utf-8")
        target = Path(tmp) / "briefing.pdf"
        cmd = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--user-data-dir={tmp}/profile",
            f"--print-to-pdf={target}",
            source.as_uri(),
        ]
        try:
            subprocess.run(
                cmd, capture_output=True, timeout=120, check=False, env={**os.environ, "HOME": tmp}
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RenderFailed(str(exc)) from exc
        if not target.exists() or target.stat().st_size == 0:
            raise RenderFailed("Chromium wrote no file")
        shutil.copyfile(target, path)
    return path


def write_documents(briefing, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return write_docx(briefing, out_dir / "briefing.docx"), write_pdf(briefing, out_dir / "briefing.pdf")
