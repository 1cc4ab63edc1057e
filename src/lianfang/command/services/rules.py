"""The rules the platform raises problems from, each threshold from the edition in force.

- ``round_behind``: an open round past its deadline with non-exempt residents still untested in a
  community (one finding per round and community).
- ``lab_turnaround``: a lab whose 90th-percentile turnaround in an open round exceeds the edition's
  result target (``screening.result_target_hours``).
- ``tubes_pending``: a site's tubes without a result ``command.tube_pending_hours`` after sampling.
- ``alert_unacknowledged``: an abnormal pool's alert not acknowledged within
  ``command.alert_ack_minutes``.
- ``recheck_overdue``: re-check / re-sample tasks past their clocks, per round and community.
- ``overdue``: every hand-off another app states as past its clock (``providers("overdue")``).
- ``place_nearly_full``: an isolation or treatment place with ``command.place_full_percent`` of
  its rooms or beds taken (``provider("places_now")``; nothing when custody is not installed).
- ``untested_not_visited``: an open round ``command.untested_visit_hours`` (the round's edition)
  after it opened, with untested people nobody has visited at their door (入户走访) yet, per round
  and community.
"""

from __future__ import annotations

import datetime as dt

from lianfang.accounts.scoping import Actor
from lianfang.command.services.problems import Finding
from lianfang.core import codes
from lianfang.core.plugins import provider, providers


def _city_of(scope: list[str]) -> str:
    return scope[0][:4] if scope else ""


def round_behind(now: dt.datetime) -> list[Finding]:
    from lianfang.screening.selectors.areas import coverage_breakdown
    from lianfang.screening.selectors.facts import open_rounds

    out = []
    for rnd in open_rounds():
        if rnd.deadline_at >= now:
            continue
        server = Actor(user=None, role="", codes=tuple(rnd.scope))
        parents: list[str | None] = [None]
        while parents:
            parent = parents.pop()
            for row in coverage_breakdown(rnd=rnd, actor=server, parent=parent)[0]:
                if row["untested"] <= 0:
                    continue
                if codes.level(row["code"]) == codes.COMMUNITY:
                    out.append(
                        Finding(
                            rule="round_behind",
                            key=f"round_behind:{rnd.code}:{row['code']}",
                            division_code=row["code"],
                            title=f"轮次 {rnd.code} 已过完成时限，{row['name']} 仍有 {row['untested']} 人未检",
                            url=f"/rounds/{rnd.code}/area/{row['code']}/",
                        )
                    )
                else:
                    parents.append(row["code"])
    return out


def lab_turnaround(now: dt.datetime) -> list[Finding]:
    from lianfang.screening.selectors.facts import open_rounds
    from lianfang.screening.selectors.labs import lab_turnaround as turnaround

    out = []
    for rnd in open_rounds():
        server = Actor(user=None, role="", codes=tuple(rnd.scope))
        for lab in turnaround(rnd=rnd, actor=server):
            if lab["late"]:
                hours = rnd.protocol.screening.result_target_hours
                out.append(
                    Finding(
                        rule="lab_turnaround",
                        key=f"lab_turnaround:{rnd.code}:{lab['code']}",
                        division_code=_city_of(rnd.scope),
                        title=f"检测机构 {lab['name']}（{rnd.code}）出结果超过 {hours} 小时（P90 {lab['p90_hours']:.1f} 小时）",
                        url="/screening/labs/",
                    )
                )
    return [f for f in out if f.division_code]


def tubes_pending(now: dt.datetime, protocol) -> list[Finding]:
    from lianfang.screening.selectors.facts import tubes_pending_by_site

    hours = protocol.command.tube_pending_hours
    return [
        Finding(
            rule="tubes_pending",
            key=f"tubes_pending:{row['round']}:{row['site']}",
            division_code=row["community"],
            title=f"采样点 {row['site']}（{row['round']}）有 {row['tubes']} 管超过 {hours} 小时未出结果",
            url=f"/rounds/{row['round']}/",
        )
        for row in tubes_pending_by_site(before=now - dt.timedelta(hours=hours))
    ]


def alert_unacknowledged(now: dt.datetime, protocol) -> list[Finding]:
    from lianfang.screening.selectors.facts import alerts_unacknowledged

    minutes = protocol.command.alert_ack_minutes
    return [
        Finding(
            rule="alert_unacknowledged",
            key=f"alert_unacknowledged:{row['pk']}",
            division_code=row["community"],
            title=f"混管 {row['tube']}（{row['round']}）异常，超过 {minutes} 分钟未签收",
            url=f"/rounds/{row['round']}/alerts/",
        )
        for row in alerts_unacknowledged(before=now - dt.timedelta(minutes=minutes))
        if row["community"]
    ]


def recheck_overdue(now: dt.datetime) -> list[Finding]:
    from lianfang.screening.selectors.facts import rechecks_overdue_by_community

    return [
        Finding(
            rule="recheck_overdue",
            key=f"recheck_overdue:{row['round']}:{row['community']}",
            division_code=row["community"],
            title=f"{row['community']} 有 {row['tasks']} 个复核任务超时（{row['round']}）",
            url=f"/rounds/{row['round']}/tasks/",
        )
        for row in rechecks_overdue_by_community(now=now)
    ]


# Screening's own members of the overdue family: ``recheck_overdue`` files them a problem per
# community and round, not one per task (a round's thousands of late tasks are one problem there).
_AGGREGATED = frozenset({"recheck", "resample"})


def other_apps_overdue(now: dt.datetime) -> list[Finding]:
    out = []
    for stated in providers("overdue"):
        for item in stated(None, now):
            if item.kind in _AGGREGATED:
                continue
            out.append(
                Finding(
                    rule=f"overdue.{item.kind}"[:40],
                    key=f"overdue:{item.ref}"[:200],
                    division_code=item.division_code,
                    title=f"超时：{item.label}",
                    url=item.url,
                )
            )
    return out


def place_nearly_full(now: dt.datetime, protocol) -> list[Finding]:
    places_now = provider("places_now")
    if places_now is None:
        return []
    percent = protocol.command.place_full_percent
    return [
        Finding(
            rule="place_nearly_full",
            key=f"place_nearly_full:{place.code}"[:200],
            division_code=place.division_code,
            title=f"{place.name}（{place.code}）已用 {place.taken}/{place.units}，达到 {percent}%，请提前安排新的隔离/救治资源",
            url=place.url,
        )
        for place in places_now(None)
        if place.units and place.taken * 100 >= percent * place.units
    ]


def untested_not_visited(now: dt.datetime) -> list[Finding]:
    """One finding per open round and community whose untested people include some that no door
    visit reached ``command.untested_visit_hours`` after the round opened — the hours of the
    edition the round was opened under, like its deadline; one GROUP BY query per round."""
    from lianfang.screening.selectors.areas import untested_not_visited_by_community
    from lianfang.screening.selectors.facts import open_rounds

    out = []
    for rnd in open_rounds():
        hours = rnd.protocol.command.untested_visit_hours
        if now < rnd.starts_at + dt.timedelta(hours=hours):
            continue
        for row in untested_not_visited_by_community(rnd=rnd):
            out.append(
                Finding(
                    rule="untested_not_visited",
                    key=f"untested_not_visited:{rnd.code}:{row['community']}",
                    division_code=row["community"],
                    title=f"轮次 {rnd.code}：{row['name'] or row['community']} {row['people']} 名未检人员开轮 {hours} 小时仍未入户走访",
                    url=f"/rounds/{rnd.code}/area/{row['community']}/?unvisited=1",
                )
            )
    return out


def findings(*, now: dt.datetime, protocol) -> list[Finding]:
    return [
        *round_behind(now),
        *lab_turnaround(now),
        *tubes_pending(now, protocol),
        *alert_unacknowledged(now, protocol),
        *recheck_overdue(now),
        *other_apps_overdue(now),
        *place_nearly_full(now, protocol),
        *untested_not_visited(now),
    ]
