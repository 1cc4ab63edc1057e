"""Chinese first, English switchable (issue 11): every page, walked in both languages, speaks one
language in its chrome — the navigation, headings, labels, table headers, buttons and options.

The URL walker of tests/accounts fills each route with the user's own data (an untested person,
an abnormal pool with its re-check task). What the data itself holds (division, person, site,
round and file names, which stay as they were written) is taken out before the check.
"""

from __future__ import annotations

import re

import pytest
from lxml import html

from lianfang.accounts.roles import Role
from lianfang.custody.models import Place
from lianfang.geo.models import Division
from lianfang.people.models import Person
from lianfang.protocol import editions
from lianfang.screening.models import Lab, Round, Site, Tube
from lianfang.zones.models import Zone
from tests.accounts.test_audit_walker import _fill, world  # noqa: F401
from tests.accounts.test_scoping import site_routes
from tests.conftest import JINJIANG, logged_in, make_user

# The chrome: what the templates write, not what the data holds.
CHROME = (
    "//title | //nav//a | //h1 | //h2 | //h3 | //th | //label | //legend | //button | //option"
    " | //*[contains(concat(' ', @class, ' '), ' label ')] | //*[contains(concat(' ', @class, ' '), ' unit ')]"
    " | //*[@placeholder]/@placeholder | //*[@aria-label]/@aria-label | //footer"
)
HAN = re.compile(r"[\u3400-\u9fff]")
WORD = re.compile(r"[A-Za-z][A-Za-z]+")
# Latin words a Chinese page rightly shows: names of formats and products, units, gene targets.
LATIN_OK = {
    "Lianfang",
    "English",
    "CSV",
    "csv",
    "XLSX",
    "xlsx",
    "Excel",
    "Parquet",
    "UTF",
    "BOM",
    "ORF",
    "ab",
    "Ct",
    "API",
    "Asia",
    "Shanghai",
    "zhangwei",
    "zw",  # the search box's examples of pinyin a user may type
}
# The brand, and each language named in itself in the language switch.
OWN_NAMES = ("联防 Lianfang", "联防", "中文", "English")
# Codes (JJ-R1, community-2022, 2022-03-R1) and file names (sites.csv) are written as they are.
CODES = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+|\S+\.(?:csv|xlsx|parquet)")
SKIP = ("login/", "logout/", "lang/", "api/docs")


def _data_strings() -> list[str]:
    values = [
        *Division.objects.values_list("name", flat=True),
        *Person.objects.values_list("name", flat=True),
        *Person.objects.values_list("address", flat=True),
        *Round.objects.values_list("name", flat=True),
        *Site.objects.values_list("name", flat=True),
        *Lab.objects.values_list("name", flat=True),
        *Place.objects.values_list("name", flat=True),
        *Zone.objects.values_list("name", flat=True),
        *Round.objects.values_list("code", flat=True),
        *Tube.objects.values_list("barcode", flat=True),
        *(e.name_zh for e in editions()),
        *(e.name_en for e in editions()),
        *OWN_NAMES,
    ]
    return sorted({v for v in values if v}, key=len, reverse=True)


def _chrome(body: str, data: list[str]) -> list[str]:
    doc = html.fromstring(body)
    for script in doc.xpath("//script"):
        script.drop_tree()
    out = []
    for node in doc.xpath(CHROME):
        text = node if isinstance(node, str) else node.text_content()
        for value in data:
            text = text.replace(value, " ")
        text = " ".join(CODES.sub(" ", text).split())
        if text:
            out.append(text)
    return out


def _foreign(texts: list[str], lang: str) -> list[str]:
    if lang == "en":
        return [t for t in texts if HAN.search(t)]
    return [t for t in texts if set(WORD.findall(t)) - LATIN_OK]


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_every_page_speaks_one_language_in_its_chrome(world, lang):  # noqa: F811
    user = make_user(f"i18n_{lang}", Role.ADMIN, [JINJIANG])
    client = logged_in(user)
    client.cookies["django_language"] = lang
    data = _data_strings()
    found: dict[str, list[str]] = {}
    pages = 0
    for route, _p, _ns in site_routes():
        if route.startswith(SKIP):
            continue
        for url in _fill(route, world):
            response = client.get(url)
            if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
                continue
            pages += 1
            bad = _foreign(_chrome(response.content.decode(), data), lang)
            if bad:
                found[url] = bad
    assert pages >= 12, pages  # the walk reached the pages (a broken world must not pass it)
    report = "\n".join(f"{url}: {sorted(set(bad))}" for url, bad in sorted(found.items()))
    assert not found, f"untranslated chrome in the {lang} pages:\n{report}"
