"""What tracing adds to the platform: cases, contacts and trace tasks — their imports and
reasons, who may do what, ``lianfang trace plans``, pages, the person page's panel, and the
facts other apps read (cases and plans at a time T, overdue traces)."""

from django.utils.translation import gettext_lazy as _

from lianfang.accounts.roles import Role
from lianfang.core.plugins import Importer, NavEntry, PersonPanel, Plugin

_OFFICE = {Role.COMMAND_OFFICE, Role.ADMIN}

PLUGIN = Plugin(
    app="tracing",
    importers=(
        Importer(
            kind="cases",
            run="lianfang.tracing.services.cases_import",
            label=("病例", "cases"),
            page=("tracing:cases", "病例 / cases"),
        ),
        Importer(
            kind="contacts",
            run="lianfang.tracing.services.contacts_import",
            label=("接触者", "contacts"),
            page=("tracing:contacts", "接触者 / contacts"),
        ),
    ),
    verbs={
        # The CDC's direct report and its confirmation of a screening finding (the working group
        # of 流调溯源 stands for the CDC here).
        "cases.import": frozenset({Role.WORKING_GROUP, *_OFFICE}),
        "cases.create": frozenset({Role.WORKING_GROUP, Role.TRACER, *_OFFICE}),
        "case.confirm": frozenset({Role.WORKING_GROUP, *_OFFICE}),
        # A clinician (hospital / isolation role) confirms or overrides the placement.
        "case.place": frozenset({Role.ISOLATION, Role.WORKING_GROUP, *_OFFICE}),
        "contacts.import": frozenset({Role.TRACER, Role.WORKING_GROUP, *_OFFICE}),
        "trace.update": frozenset({Role.TRACER, Role.WORKING_GROUP, *_OFFICE}),
    },
    reasons={
        "unknown_case": ("病例不存在（或不在您的辖区内）", "unknown case (or not in your jurisdiction)"),
        "bad_classification": ("分类须为 确诊/无症状", "classification must be confirmed or asymptomatic"),
        "bad_found_in": (
            "发现途径须为 quarantine/controlled_area/screening/clinic/other",
            "found_in must be quarantine, controlled_area, screening, clinic or other",
        ),
        "bad_severity": (
            "病情分型须为 轻型/普通型/重型/危重型",
            "severity must be mild, moderate, severe or critical",
        ),
        "bad_category": (
            "接触类别须为 密接/次密接/时空伴随/场所暴露/一般接触",
            "category must be close, secondary, companion, venue or general",
        ),
        "missing_via": (
            "次密接须填写其密接者的证件号码（via_id_number）",
            "a secondary contact needs their close contact's ID number (via_id_number)",
        ),
    },
    cli="lianfang.tracing.cli.register",
    urls="lianfang.tracing.urls",
    api_router="lianfang.tracing.api.router",
    api_prefix="/tracing",
    nav=(NavEntry(label=_("流调溯源"), url_name="tracing:cases", order=30, active=("/tracing/",)),),
    person_panels=(
        PersonPanel(
            template="lianfang/tracing/person_panel.html",
            context="lianfang.tracing.panels.person_tracing",
            order=20,
        ),
    ),
    provides={
        "cases_as_of": "lianfang.tracing.facts.cases_as_of",
        "plans_as_of": "lianfang.tracing.facts.plans_as_of",
        "overdue.tracing": "lianfang.tracing.facts.overdue_tracing",
        "in_custody.tracing": "lianfang.tracing.facts.in_custody",
        "in_custody_sql.tracing": "lianfang.tracing.facts.in_custody_sql",
        # A write the companions review page calls (core/facts.py): confirmed companions → contacts.
        "contacts_confirm_companions": "lianfang.tracing.services.contacts_confirm_companions",
    },
)
