"""Under `make demo`'s own server setup (tests/ops/demo.py) an upload reaches 完成 by itself: nobody
starts a worker, the demo runs one."""

from __future__ import annotations

import pytest

from tests.conftest import JJ_COMMUNITY, rid
from tests.ops.demo import serve_demo

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    yield from serve_demo(tmp_path_factory)


def test_an_upload_under_the_demo_reaches_done_by_itself(demo, page, artifacts, tmp_path):
    base = demo["base"]
    page.goto(f"{base}/login/")
    page.fill("#username", "jinjiang")
    page.fill("#password", "lianfang-demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    upload = tmp_path / "persons.csv"
    upload.write_text(
        "id_number,name,community_code\n"
        f"{rid('350582', '19700101', '901')},上传甲,{JJ_COMMUNITY}\n"
        f"{rid('350582', '19700101', '902')},上传乙,{JJ_COMMUNITY}\n"
        f"123,坏号码,{JJ_COMMUNITY}\n",
        encoding="utf-8",
    )
    page.goto(f"{base}/people/import/")
    page.set_input_files("input[type=file]", str(upload))
    page.click("form[enctype] button[type=submit]")
    page.wait_for_url(f"{base}/imports/*/")
    # Nobody starts a worker: the demo's own runs the job.
    page.wait_for_selector("#job[data-status='done']", timeout=60_000)
    assert "已完成" in page.inner_text("#job-status")
    cells = page.locator("#summary td").all_inner_texts()
    assert cells == ["3", "2", "0", "0", "1"]  # read, accepted, duplicate, held, rejected
    page.screenshot(path=str(artifacts / "demo-upload-done.png"), full_page=True)
