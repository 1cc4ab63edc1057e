"""The briefing's DOCX and PDF open and show Chinese text; the PDF's page is not blank; the page
serves them to a city-wide reader only, audited."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from lianfang.accounts.models import AuditEvent
from lianfang.accounts.roles import Role
from tests.command.test_briefing import case, run
from tests.conftest import JINJIANG, logged_in, make_user

pytestmark = pytest.mark.slow


def _png_gray_pixels(path: Path) -> bytes:
    """The bytes of an 8-bit grey or RGB PNG (what pdftoppm writes), filters undone row by row."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, bpp = 8, b"", 0, 1
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            pixels, _height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (0, 2)
            bpp = 1 if color == 0 else 3
            width = pixels * bpp
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    rows, prev, i = [], bytearray(width), 0
    while i < len(raw):
        f, line = raw[i], bytearray(raw[i + 1 : i + 1 + width])
        for x in range(width):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], (prev[x - bpp] if x >= bpp else 0)
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev, i = line, i + 1 + width
    return b"".join(rows)


@pytest.fixture
def published(facts, db, capsys, tmp_path):
    facts.CASES.append(case("C001", reported="2022-03-25 10:00:00"))
    run("2022-03-26", capsys, "--out", str(tmp_path / "out"))
    return tmp_path / "out"


def test_docx_opens_with_the_press_text(published):
    from docx import Document

    doc = Document(str(published / "briefing.docx"))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "3月25日0—24时，泉州市新增新冠肺炎确诊病例1例" in text and "社会面1例" in text
    table = doc.tables[0]
    assert table.rows[0].cells[0].text == "地区" and len(table.rows) == 14
    assert table.rows[1].cells[0].text == "泉州市"


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils (pdftoppm) not installed")
def test_pdf_has_chinese_text_embedded_fonts_and_a_page_that_is_not_blank(published, tmp_path):
    pdf = published / "briefing.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "泉州市新增新冠肺炎确诊病例1例" in text.replace("\n", "")
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    lines = [line for line in fonts.splitlines()[2:] if line.strip()]
    assert lines and all(" yes " in line for line in lines), fonts  # every font embedded
    subprocess.run(
        ["pdftoppm", "-png", "-gray", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    png = next(tmp_path.glob("page*.png"))
    pixels = _png_gray_pixels(png)
    dark = sum(1 for v in pixels if v < 128)
    assert dark > len(pixels) * 0.002, "the rendered page is blank"


def test_page_and_downloads_for_the_city_only(published, db):
    city = make_user("brief_city", Role.COMMANDER, ["3505"])
    county = make_user("brief_county", Role.COMMAND_OFFICE, [JINJIANG])
    client = logged_in(city)
    page = client.get("/briefing/2022-03-25/")
    assert page.status_code == 200 and "泉州市新增新冠肺炎确诊病例1例" in page.content.decode()
    before = AuditEvent.objects.count()
    pdf = client.get("/briefing/2022-03-25/briefing.pdf")
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    assert AuditEvent.objects.filter(action="export", object_id="2022-03-25.pdf").count() == 1
    assert AuditEvent.objects.count() == before + 1
    docx = client.get("/briefing/2022-03-25/briefing.docx")
    assert docx.status_code == 200 and docx.content[:2] == b"PK"
    # A county reader sees their county's row, not the city's documents.
    other = logged_in(county)
    mine = other.get("/briefing/2022-03-25/")
    assert (
        mine.status_code == 200
        and "晋江市" in mine.content.decode()
        and "泉州市新增" not in mine.content.decode()
    )
    assert other.get("/briefing/2022-03-25/briefing.pdf").status_code == 404
    assert other.post("/briefing/", {"cutoff": "2022-03-27"}).status_code == 404
    assert client.get("/briefing/2022-03-24/").status_code == 404  # never published


def test_publishing_from_the_page_refuses_a_bad_cutoff(db):
    client = logged_in(make_user("brief_city2", Role.COMMANDER, ["3505"]))
    bad = client.post("/briefing/", {"cutoff": "2022-03-26 08:00"})
    assert bad.status_code == 400 and "当地零点" in bad.content.decode()
    assert client.post("/briefing/", {"cutoff": "2022-03-26"}).status_code == 302
