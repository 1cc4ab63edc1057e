"""The hand-off, placement, trace tasks and their clocks, contacts by form, scoping, concurrency."""

from __future__ import annotations

import datetime as dt
import threading

import pyarrow as pa
import pytest
from django.db import connection

from lianfang.accounts.roles import Role
from lianfang.accounts.scoping import NotPermitted
from lianfang.core import plugins
from lianfang.core.times import SHANGHAI
from lianfang.screening.models import PositiveFinding, RecheckTask
from lianfang.tracing import services
from lianfang.tracing.models import Case, Contact, ContactRow, TraceTask
from tests.conftest import JINJIANG, JJ_COMMUNITY, LC_COMMUNITY, LICHENG, actor, make_person, make_user, rid
from tests.screening.helpers import abnormal_pool
from tests.tracing.helpers import CASE_A, P1, P2, case, contact

OLD = rid("350582", "19500101", "071")  # 72 at the report


def local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def cases(*rows):
    summary, outcomes = services.cases_import(table=pa.Table.from_pylist(list(rows)), actor=None)
    return list(outcomes)


@pytest.fixture
def finding(db):
    make_person(id_number=P1, name="阳性者", phone="13800000009")
    abnormal_pool("JJ", JJ_COMMUNITY, P1)
    task = RecheckTask.objects.get()
    return PositiveFinding.objects.create(
        task=task,
        person=task.person,
        round=task.round,
        tube_barcode="JJ-X1",
        sampled_at=local("2022-03-28 15:00"),
        reported_at=local("2022-03-28 20:00"),
    )


def test_a_positive_recheck_becomes_a_case_with_one_action(finding):
    cdc = actor(make_user("jj_cdc", Role.WORKING_GROUP, [JINJIANG]))
    made = services.case_from_finding(
        actor=cdc, finding_id=finding.pk, case_code="JJ-001", classification="无症状"
    )
    assert (made.source, made.found_in, made.classification, made.name) == (
        "screening",
        "screening",
        "asymptomatic",
        "阳性者",
    )
    assert made.first_positive_sampled_at == finding.sampled_at and made.phone == "13800000009"
    assert made.community_id == JJ_COMMUNITY and TraceTask.objects.filter(case=made).exists()
    finding.refresh_from_db()
    assert finding.handed_over_at is not None
    assert not services.findings_awaiting(cdc).exists()
    with pytest.raises(services.TracingError) as exc:
        services.case_from_finding(
            actor=cdc, finding_id=finding.pk, case_code="JJ-002", classification="confirmed"
        )
    assert exc.value.code == "already_case" and Case.objects.count() == 1


def test_the_handoff_is_refused_to_other_roles_and_counties(finding):
    tracer = actor(make_user("jj_t", Role.TRACER, [JINJIANG]))
    with pytest.raises(NotPermitted):
        services.case_from_finding(
            actor=tracer, finding_id=finding.pk, case_code="X", classification="confirmed"
        )
    licheng = actor(make_user("lc_cdc", Role.WORKING_GROUP, [LICHENG]))
    with pytest.raises(services.NotFound):
        services.case_from_finding(
            actor=licheng, finding_id=finding.pk, case_code="X", classification="confirmed"
        )
    assert not Case.objects.exists()


def test_placement_proposal_and_the_clinicians_decision(db):
    make_person(id_number=P2, name="孕妇", tags="pregnant")
    assert (
        cases(
            case("C1", id_number=OLD, severity="mild"),
            case("C2", id_number=CASE_A, severity="mild"),
            case("C3", id_number=rid("350582", "19900303", "081"), severity="moderate"),
            case("C4", id_number=P2, classification="asymptomatic"),
        )
        == ["accepted"] * 4
    )
    proposed = dict(Case.objects.values_list("case_code", "placement_proposed"))
    assert proposed == {
        "C1": "designated_hospital",  # age ≥ 60
        "C2": "fangcang",
        "C3": "designated_hospital",  # moderate
        "C4": "designated_hospital",  # pregnancy in the registry (a proposal: the clinician decides)
    }
    clinician = actor(make_user("jj_hosp", Role.ISOLATION, [JINJIANG]))
    c2 = Case.objects.get(case_code="C2")
    with pytest.raises(services.TracingError) as exc:
        services.case_place(actor=clinician, case=c2, placement="designated_hospital")
    assert exc.value.code == "reason_required"
    placed = services.case_place(actor=clinician, case=c2, placement="designated_hospital", reason="透析病史")
    assert (placed.placement, placed.placement_reason, placed.placement_by_id) == (
        "designated_hospital",
        "透析病史",
        clinician.user.pk,
    )
    assert services.case_place(
        actor=clinician, case=Case.objects.get(case_code="C1"), placement="designated_hospital"
    ).placement
    tracer = actor(make_user("jj_t2", Role.TRACER, [JINJIANG]))
    with pytest.raises(NotPermitted):
        services.case_place(actor=tracer, case=c2, placement="fangcang", reason="x")


def test_trace_task_clocks_window_and_the_overdue_fact(db):
    cases(
        case(
            "C1",
            onset_date="2022-03-19",
            first_positive_sampled_at="2022-03-20 08:00",
            reported_at="2022-03-21 10:00",
        ),
        case(
            "C2",
            id_number=OLD,
            classification="asymptomatic",
            reported_at="2022-03-21 11:00",
            community_code=LC_COMMUNITY,
        ),
    )
    t1 = TraceTask.objects.get(case__case_code="C1")
    t2 = TraceTask.objects.get(case__case_code="C2")
    assert t1.exposure_from == local("2022-03-15 00:00")  # 4 days before onset, from its midnight
    assert t2.exposure_from == local("2022-03-16 08:00")  # 4 days before the first positive sampling
    assert (t1.core_due_at, t1.report_due_at) == (local("2022-03-21 14:00"), local("2022-03-22 10:00"))
    jj = actor(make_user("jj_t3", Role.TRACER, [JINJIANG]))
    overdue = plugins.provider("overdue.tracing")
    assert overdue(jj, local("2022-03-21 13:59")) == []
    late = overdue(jj, local("2022-03-21 14:00"))
    assert [(o.kind, o.ref) for o in late] == [("trace_core", f"trace_core:{t1.pk}")]
    assert late[0].division_code == JJ_COMMUNITY and late[0].url.endswith("/tracing/cases/C1/trace/")
    services.trace_task_update(actor=jj, task=t1, core_done=True, team="晋江一组")
    t1.refresh_from_db()
    t1.core_done_at = local("2022-03-21 13:00")
    t1.save()
    assert [o.kind for o in overdue(jj, local("2022-03-23 00:00"))] == ["trace_report"]
    # Licheng's own overdue trace is Licheng's, not Jinjiang's
    lc = actor(make_user("lc_t", Role.TRACER, [LICHENG]))
    assert {o.ref for o in overdue(lc, local("2022-03-23 00:00"))} == {
        f"trace_core:{t2.pk}",
        f"trace_report:{t2.pk}",
    }
    with pytest.raises(services.NotFound):
        services.trace_task_update(actor=lc, task=t1, team="x")


def test_contact_by_form_follows_the_file_rules(db):
    cases(case("C1"))
    tracer = actor(make_user("jj_t4", Role.TRACER, [JINJIANG]))
    c1 = Case.objects.get(case_code="C1")
    made = services.contact_add(
        actor=tracer,
        case=c1,
        fields={"category": "密接", "id_number": P1, "name": "甲", "last_exposure_at": "2022-03-20 18:00"},
    )
    assert (made.category, made.case_id, made.registered_at is not None) == ("close", c1.pk, True)
    with pytest.raises(services.TracingError) as exc:
        services.contact_add(
            actor=tracer,
            case=c1,
            fields={
                "category": "secondary",
                "id_number": P2,
                "name": "乙",
                "last_exposure_at": "2022-03-20 18:00",
            },
        )
    assert exc.value.code == "missing_via"
    lc = actor(make_user("lc_t2", Role.TRACER, [LICHENG]))
    with pytest.raises(services.TracingError) as exc:
        services.contact_add(
            actor=lc,
            case=c1,
            fields={
                "category": "close",
                "id_number": P2,
                "name": "乙",
                "last_exposure_at": "2022-03-20 18:00",
            },
        )
    assert exc.value.code == "unknown_case" and Contact.objects.count() == 1


def test_a_county_sees_its_cases_and_the_contacts_it_traced_or_who_live_there(db):
    cases(case("JJ1"), case("LC1", id_number=OLD, community_code=LC_COMMUNITY))
    services.contacts_import(
        table=pa.Table.from_pylist(
            [
                contact(
                    P1, case_code="LC1", community_code=JJ_COMMUNITY
                ),  # a Jinjiang resident of Licheng's case
                contact(P2, case_code="LC1", community_code=LC_COMMUNITY),
            ]
        ),
        actor=None,
    )
    jj = actor(make_user("jj_o", Role.COMMAND_OFFICE, [JINJIANG]))
    lc = actor(make_user("lc_o", Role.COMMAND_OFFICE, [LICHENG]))
    assert list(Case.objects.visible_to(jj).values_list("case_code", flat=True)) == ["JJ1"]
    assert set(Contact.objects.visible_to(jj).values_list("id_number", flat=True)) == {P1}
    assert set(Contact.objects.visible_to(lc).values_list("id_number", flat=True)) == {P1, P2}


def test_parallel_imports_of_one_file_accept_each_row_once(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip(
            "concurrency is tested on PostgreSQL (the in-memory SQLite test database is one connection)"
        )
    cases(case("C1"))
    rows = pa.Table.from_pylist([contact(P1), contact(P2, category="secondary", via_id_number=P1)])
    results, errors = [], []

    def work() -> None:
        try:
            summary, _ = services.contacts_import(table=rows, actor=None)
            results.append((summary.accepted, summary.duplicate))
        except Exception as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(results) == [(0, 2), (0, 2), (0, 2), (2, 0)]
    assert ContactRow.objects.count() == 2 and Contact.objects.count() == 2


def test_parallel_imports_of_one_cases_file_make_each_case_once(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip(
            "concurrency is tested on PostgreSQL (the in-memory SQLite test database is one connection)"
        )
    rows = pa.Table.from_pylist([case("C1"), case("C2", id_number=OLD)])
    outcomes, errors = [], []

    def work() -> None:
        try:
            summary, _ = services.cases_import(table=rows, actor=None)
            outcomes.append((summary.accepted, summary.duplicate))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(outcomes) == [(0, 2), (0, 2), (0, 2), (2, 0)]
    assert Case.objects.count() == 2 and TraceTask.objects.count() == 2
