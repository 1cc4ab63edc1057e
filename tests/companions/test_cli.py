"""``lianfang trace companions``: the cases from whichever app states ``cases_as_of``."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.test import override_settings

from lianfang.accounts.models import AuditEvent
from lianfang.core import plugins
from tests.companions.casefacts import facts

REPORTED = dt.datetime(2022, 3, 21, tzinfo=facts.SHANGHAI)
PINGS = (
    "person_key,cell_id,start,end\n"
    "13800000001,c1,2022-03-20 08:00,2022-03-20 09:00\n"
    "35050219900101123x,c2,2022-03-19 08:00,2022-03-19 09:00\n"
    "13900000002,c1,2022-03-20 08:30,2022-03-20 09:30\n"
    "A,c1,2022-03-20 08:50,2022-03-20 09:10\n"
    "B,c2,2022-03-19 08:45,2022-03-19 10:00\n"
)
HEADER = "person_key,case_code,cell_id,overlap_start,overlap_end,overlap_minutes\n"


@pytest.fixture
def casefacts():
    """The test app in place of any installed app that states ``cases_as_of`` (tracing)."""
    stating = {p.app for p in plugins.discover() if "cases_as_of" in p.provides}
    apps = [a for a in settings.INSTALLED_APPS if a.rsplit(".", 1)[-1] not in stating]
    facts.CASES[:] = [
        facts.case("K1", id_number="35050219900101123X", phone="13800000001", reported_at=REPORTED),
        facts.case("K2", phone="13900000002", reported_at=REPORTED),
    ]
    with override_settings(INSTALLED_APPS=[*apps, "tests.companions.casefacts"]):
        plugins.reset()
        yield facts.CASES
    plugins.reset()
    facts.CASES.clear()


@pytest.fixture
def no_cases():
    """No installed app states ``cases_as_of``."""
    stating = {p.app for p in plugins.discover() if "cases_as_of" in p.provides}
    apps = [a for a in settings.INSTALLED_APPS if a.rsplit(".", 1)[-1] not in stating]
    with override_settings(INSTALLED_APPS=apps):
        plugins.reset()
        yield
    plugins.reset()


def cli(*argv) -> int:
    from lianfang.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    return exit_.value.code


@pytest.fixture
def pings(tmp_path):
    path = tmp_path / "pings.csv"
    path.write_text(PINGS, encoding="utf-8")
    return path


def test_without_tracing_the_command_says_so(db, no_cases, pings, tmp_path, capsys):
    out = tmp_path / "companions.csv"
    assert cli("trace", "companions", "--pings", str(pings), "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert "未安装流调模块" in err and "tracing app is not installed" in err
    assert not out.exists()


def test_companions_of_every_case_by_phone_and_id(db, casefacts, pings, tmp_path, capsys):
    out = tmp_path / "companions.csv"
    assert cli("trace", "companions", "--pings", str(pings), "--out", str(out)) == 0
    assert out.read_text(encoding="utf-8") == HEADER + (
        "A,K1,c1,2022-03-20 08:50:00,2022-03-20 09:00:00,10.0\n"
        "A,K2,c1,2022-03-20 08:50:00,2022-03-20 09:10:00,20.0\n"
        "B,K1,c2,2022-03-19 08:45:00,2022-03-19 09:00:00,15.0\n"  # by the ID number, x for X
    )
    assert "3 companion rows for 2 case(s)" in capsys.readouterr().out
    event = AuditEvent.objects.get(object_type="companions")
    assert event.action == "export" and event.username == "cli"
    assert event.detail == {
        "pings": "pings.csv",
        "cases": "all",
        "rows": 3,
        "edition": "p9",
        "engine": "duckdb",
    }


def test_only_the_cases_asked_for(db, casefacts, pings, tmp_path):
    out = tmp_path / "companions.csv"
    assert cli("trace", "companions", "--pings", str(pings), "--out", str(out), "--cases", " K2 ,") == 0
    assert (
        out.read_text(encoding="utf-8") == HEADER + "A,K2,c1,2022-03-20 08:50:00,2022-03-20 09:10:00,20.0\n"
    )


def test_unknown_case_and_bad_file_exit_2_with_a_message(db, casefacts, pings, tmp_path, capsys):
    out = tmp_path / "companions.csv"
    assert cli("trace", "companions", "--pings", str(pings), "--out", str(out), "--cases", "K1,K9") == 2
    err = capsys.readouterr().err
    assert "没有这些病例：K9" in err and "No such cases: K9" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("person_key,cell_id,start,end\nA,c1,2022-03-20,2022-03-20 09:00\n", encoding="utf-8")
    assert cli("trace", "companions", "--pings", str(bad), "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert "第 2 行" in err and 'At line 2: start "2022-03-20" is not a time' in err
    assert cli("trace", "companions", "--pings", str(tmp_path / "none.parquet"), "--out", str(out)) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not out.exists() and not AuditEvent.objects.filter(object_type="companions").exists()


@pytest.mark.slow
@pytest.mark.spark
def test_the_spark_engine_writes_the_same_file(db, casefacts, pings, tmp_path):
    pytest.importorskip("pyspark")
    files = {}
    for engine in ("duckdb", "spark"):
        files[engine] = tmp_path / f"{engine}.csv"
        assert (
            cli("trace", "companions", "--pings", str(pings), "--out", str(files[engine]), "--engine", engine)
            == 0
        )
    assert files["spark"].read_bytes() == files["duckdb"].read_bytes()
    assert files["spark"].read_text().count("\n") == 4
