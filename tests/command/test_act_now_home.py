"""The command layer's items on the home page's "act now" list (Plugin.home)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from lianfang.command.models import Problem
from lianfang.command.services.problems import problem_file
from tests.conftest import JINJIANG, LC_COMMUNITY, logged_in, make_user


def test_an_overdue_problem_of_the_users_area_is_on_their_home_page_and_not_on_another_countys(db):
    mine = problem_file(actor=None, title="晋江某社区未检人员未上门", division_code=JINJIANG)
    Problem.objects.filter(pk=mine.pk).update(deadline_at=timezone.now() - dt.timedelta(hours=1))
    problem_file(actor=None, title="鲤城问题不应出现", division_code=LC_COMMUNITY)
    page = logged_in(make_user("jj_cmd", "command_office", [JINJIANG])).get("/").content.decode()
    assert "晋江某社区未检人员未上门" in page
    assert f"/problems/{mine.pk}/" in page
    assert "act-danger" in page  # overdue: red
    assert "鲤城问题不应出现" not in page


def test_nothing_to_act_on_leaves_the_section_out(db):
    page = logged_in(make_user("jj_cmd2", "command_office", [JINJIANG])).get("/").content.decode()
    assert 'data-act="problem"' not in page
