"""What the custody services share: the refusal, the person a row names, times and scoping checks."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from lianfang.accounts.scoping import Actor
from lianfang.core.errors import Refused
from lianfang.geo.models import Division, Level
from lianfang.people.idnumbers import is_valid_resident_id
from lianfang.people.models import IdType, Person
from lianfang.people.services import persons_create_unregistered

# A time typed by a user may run this far ahead of the server's clock (phones drift).
CLOCK_TOLERANCE = dt.timedelta(minutes=5)


class CustodyError(Refused):
    """A custody write refused, with its reason in Chinese and English."""


def refuse(code: str) -> CustodyError:
    zh, en = MESSAGES[code]
    return CustodyError(code, zh, en)


MESSAGES: dict[str, tuple[str, str]] = {
    "bad_id_type": ("证件类型无效", "unknown ID type"),
    "invalid_id_number": ("证件号码无效", "invalid ID number"),
    "missing_id_number": ("请填写证件号码", "the ID number is required"),
    "person_out_of_jurisdiction": (
        "该人员不在您的辖区内，请由其所在辖区办理",
        "this person lives outside your jurisdiction: their own jurisdiction handles them",
    ),
    "unknown_community": (
        "社区村代码无效，或不在您的辖区内",
        "unknown community code, or outside your jurisdiction",
    ),
    "bad_category": ("转运类别须为 感染者/密接/次密接", "the category must be case, close or secondary"),
    "not_transferred": (
        "按现行防控方案，该类别不需转运",
        "under the protocol in force this category is not transferred",
    ),
    "transfer_live": (
        "该人员已有未完成的转运单",
        "this person already has a transfer order in progress",
    ),
    "already_in_custody": (
        "该人员已在隔离/救治场所入住",
        "this person is already checked in at an isolation or treatment place",
    ),
    "unknown_place": ("场所不存在", "unknown place"),
    "bad_transition": (
        "转运单当前状态不允许此操作",
        "the transfer order's state does not allow this step",
    ),
    "missing_vehicle": ("请填写车辆和转运人员", "vehicle and crew are required"),
    "missing_reason": ("取消须填写原因", "a cancellation needs a reason"),
    "code_taken": ("编号已被占用，请换一个", "the code is taken: use another"),
    "bad_kind": ("场所类型无效", "unknown kind of place"),
    "missing_name": ("请填写名称", "the name is required"),
    "bad_units": (
        "房间/床位号格式无效（例：101-120, 201；最多 2000 个）",
        "bad room/bed list (e.g. 101-120, 201; at most 2,000)",
    ),
    "bad_beds": ("床数须为 1 至 20 的整数", "beds must be a whole number from 1 to 20"),
    "place_full": ("没有空余的房间/床位", "no free room or bed"),
    "unit_taken": (
        "该房间/床位已有人入住（同户同住须填写相同户号）",
        "this room or bed is taken (a household placed together gives the same household number)",
    ),
    "unknown_unit": ("房间/床位号不存在", "unknown room or bed"),
    "stay_ended": ("该人员已离开", "this stay has already ended"),
    "bad_result": (
        "检测结果须为 阴性/阳性/可疑/无效",
        "the result must be negative, positive, inconclusive or invalid",
    ),
    "bad_ct": ("Ct 值须为 0 至 50 的数字", "a Ct value must be a number from 0 to 50"),
    "bad_time": ("时间格式无效", "not a time"),
    "future_time": (
        "时间晚于当前时间（超出允许的时钟误差）",
        "the time is in the future (beyond the allowed clock skew)",
    ),
    "before_check_in": ("采样时间早于入住时间", "the sample was taken before check-in"),
    "outside_monitoring": (
        "采样时间不在出院后居家健康监测期内",
        "the sample was not taken during the home health monitoring after discharge",
    ),
    "missing_return_home": (
        "解除隔离须登记点对点返家安排（车辆/陪同人员）",
        "a release needs the 点对点 return home recorded (vehicle, escort)",
    ),
    "tracing_absent": (
        "流调模块未安装：无法读取管控计划",
        "tracing is not installed: the control plan is unknown",
    ),
    "no_plan": ("该人员没有管控计划", "this person has no control plan"),
    "plan_not_ended": ("管控计划尚未期满", "the control plan has not ended yet"),
    "tests_missing": (
        "管控计划规定的检测日尚有未检或非阴性结果",
        "some test days of the plan have no negative test",
    ),
    "not_negative": ("在住期间有非阴性检测结果", "a test during the stay was not negative"),
    "is_a_case": (
        "该人员是感染者：须按出院标准出院，不能解除隔离",
        "this person is a case: discharged by the discharge rule, not released",
    ),
    "discharge_not_ready": (
        "未达出院标准（连续两次 N 与 ORF1ab 基因 Ct ≥ 35，间隔 ≥ 24 小时）",
        "the discharge rule is not met (two tests ≥ 24 h apart with N and ORF1ab Ct ≥ 35)",
    ),
}


def now_or(at: dt.datetime | None) -> dt.datetime:
    return at or timezone.now()


def not_future(at: dt.datetime, now: dt.datetime) -> None:
    if at > now + CLOCK_TOLERANCE:
        raise refuse("future_time")


def check_id(id_type: str, id_number: str) -> tuple[str, str]:
    id_type = (id_type or IdType.RESIDENT_ID).strip()
    id_number = (id_number or "").strip().upper()
    if id_type not in IdType.values:
        raise refuse("bad_id_type")
    if not id_number:
        raise refuse("missing_id_number")
    if len(id_number) > 32 or (id_type == IdType.RESIDENT_ID and not is_valid_resident_id(id_number)):
        raise refuse("invalid_id_number")
    if any(ord(c) < 32 for c in id_number):
        raise refuse("invalid_id_number")
    return id_type, id_number


def person_for(*, id_type: str, id_number: str, name: str, now: dt.datetime) -> Person:
    """The registry's person, or one added as unregistered (found outside the registry)."""
    people = Person.objects.dangerously_all()
    try:  # by the unique key alone (``first()`` would add an ORDER BY id the planner may follow)
        return people.get(id_type=id_type, id_number=id_number)
    except Person.DoesNotExist:
        persons_create_unregistered(people=[(id_type, id_number, (name or "").strip()[:64])], now=now)
        return people.get(id_type=id_type, id_number=id_number)


def community_for(actor: Actor | None, code: str) -> Division:
    """A community the actor may act in (None: the server's authority covers every one)."""
    code = (code or "").strip()
    division = Division.objects.filter(code=code, level=Level.COMMUNITY).first() if code else None
    if division is None or (actor is not None and not actor.covers(code)):
        raise refuse("unknown_community")
    return division


def located(division: Division) -> dict:
    """The code columns of a Located row in ``division`` (a community)."""
    return {"community": division, "town_code": division.code[:9], "county_code": division.code[:6]}
