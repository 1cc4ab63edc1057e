"""What mass screening adds to the platform: its imports and reasons, who may do what, its
commands, pages, API and the person page's screening history."""

from django.utils.translation import gettext_lazy as _

from lianfang.accounts.roles import Role
from lianfang.core.plugins import AuditObject, HomeSection, Importer, NavEntry, PersonPanel, Plugin

_OFFICE = {Role.COMMAND_OFFICE, Role.ADMIN}

PLUGIN = Plugin(
    app="screening",
    importers=(
        Importer(
            kind="sites",
            run="lianfang.screening.services.sites_import",
            label=("采样点", "sampling sites"),
            progress=False,
        ),
        Importer(
            kind="labs",
            run="lianfang.screening.services.labs_import",
            label=("检测机构", "labs"),
            progress=False,
        ),
        Importer(kind="samples", run="lianfang.screening.services.samples_import", label=("采样", "samples")),
        Importer(kind="results", run="lianfang.screening.services.results_import", label=("结果", "results")),
    ),
    # The same in pages, the API, uploads and the command line (server authority: no actor).
    verbs={
        "round.open": frozenset({Role.COMMANDER, *_OFFICE}),
        "round.close": frozenset({Role.COMMANDER, *_OFFICE}),
        "alert.acknowledge": frozenset({Role.COMMANDER, Role.WORKING_GROUP, *_OFFICE}),
        "recheck.register": frozenset({Role.SAMPLER, Role.COMMUNITY_WORKER, *_OFFICE}),
        # 入户走访: grid workers knock on the doors of the round's untested people.
        "visit.record": frozenset({Role.COMMUNITY_WORKER, *_OFFICE}),
        "sites.import": frozenset({Role.WORKING_GROUP, *_OFFICE}),
        "labs.import": frozenset(_OFFICE),
        "samples.import": frozenset({Role.SAMPLER, Role.WORKING_GROUP, *_OFFICE}),
        "results.import": frozenset({Role.LAB, Role.WORKING_GROUP, *_OFFICE}),
    },
    fixes={
        "unknown_round": (
            "填写已开启轮次的编号（见“核酸筛查”页）",
            "write the code of an opened round (see the screening page)",
        ),
        "round_closed": (
            "该轮次已结束：改填进行中的轮次编号",
            "the round is closed: write the code of an open round",
        ),
        "unknown_site": (
            "核对采样点编号，或先在“采样点”页导入该采样点",
            "check the site code, or import the site first on the sites page",
        ),
        "bad_pool_size": (
            "混采数填轮次所用方案允许的值（见“防控方案”页，如 1、5、10、20）",
            "write a pool size the round's protocol allows (see the protocol page, e.g. 1, 5, 10, 20)",
        ),
        "tube_in_other_round": (
            "管码不能跨轮次重复使用：核对管码和轮次编号",
            "a tube barcode cannot be reused across rounds: check the barcode and the round code",
        ),
        "pool_size_conflict": (
            "同一管的每一行混采数须相同",
            "every row of one tube needs the same pool size",
        ),
        "tube_over_capacity": (
            "核对管码：一管的人数不能超过混采数，多出的人应在新的一管",
            "check the barcode: a tube holds no more people than its pool size; the others go in a new tube",
        ),
        "unknown_lab": (
            "核对检测机构编号，或先在“检测机构”页导入该机构",
            "check the lab code, or import the lab first on the labs page",
        ),
        "bad_result": (
            "检测结果填 阴性、阳性、可疑、无效（或 negative、positive、inconclusive、invalid）",
            "write negative, positive, inconclusive or invalid (or 阴性, 阳性, 可疑, 无效)",
        ),
        "bad_ct": (
            "Ct 值只填数字（如 32.5），没有就留空",
            "write a Ct value as a number (such as 32.5), or leave it blank",
        ),
        "bad_desks": (
            "采样台数填 1 至 999 的整数，或留空",
            "write desks as a whole number from 1 to 999, or leave it blank",
        ),
        "bad_capacity": (
            "日检测能力填不小于 0 的整数，或留空",
            "write the daily capacity as a whole number of 0 or more, or leave it blank",
        ),
        "code_taken": ("换一个没有用过的编号", "use a code nobody uses yet"),
        "tube_taken": ("换一支新管，用它的管码", "use a new tube and its barcode"),
        "tube_out_of_jurisdiction": (
            "核对管码：只能录入本辖区已登记的管的结果",
            "check the barcode: you can enter results only for tubes registered in your jurisdiction",
        ),
        "future_time": ("核对时间列和采样设备的时钟", "check the time column and the device's clock"),
        "before_round": (
            "核对采样时间：须在轮次开始之后",
            "check the sample time: it must be after the round started",
        ),
    },
    reasons={
        "unknown_round": ("轮次不存在", "unknown round"),
        "round_closed": ("轮次已结束，不再接收采样", "the round is closed: no more samples"),
        "unknown_site": (
            "采样点不存在（或不在您的辖区内）",
            "unknown sampling site (or not in your jurisdiction)",
        ),
        "bad_pool_size": ("混采数须为 1、5、10 或 20", "the pool size must be 1, 5, 10 or 20"),
        "tube_in_other_round": ("该管码已用于其他轮次", "this tube barcode belongs to another round"),
        "pool_size_conflict": (
            "该管已按另一混采数登记",
            "the tube is already registered with another pool size",
        ),
        "tube_over_capacity": (
            "该管人数已满（超过混采数）",
            "the tube is full (more people than its pool size)",
        ),
        "unknown_lab": ("检测机构不存在（或不是本机构）", "unknown lab (or not this device's lab)"),
        "bad_result": (
            "检测结果须为 阴性/阳性/可疑/无效",
            "the result must be negative, positive, inconclusive or invalid",
        ),
        "bad_ct": ("Ct 值须为数字", "a Ct value must be a number"),
        "bad_desks": ("采样台数须为 1 至 999 的整数", "desks must be a whole number from 1 to 999"),
        "bad_capacity": (
            "日检测能力须为 0 至 2147483647 的整数",
            "daily capacity must be a whole number from 0 to 2,147,483,647",
        ),
        # A code held by an object the writer may not change (another county's): nothing of it is told.
        "code_taken": ("编号已被占用，请换一个", "the code is taken: use another"),
        "tube_taken": ("该管码已被占用，请换一管", "this tube barcode is taken: use another tube"),
        # Also a tube not registered yet, from an actor who may not hold results for any tube.
        "tube_out_of_jurisdiction": (
            "该管不在您的辖区内（或尚未登记）",
            "the tube is outside your jurisdiction (or not registered yet)",
        ),
        "future_time": (
            "时间晚于当前时间（超出允许的时钟误差）",
            "the time is in the future (beyond the allowed clock skew)",
        ),
        "before_round": ("时间早于轮次开始时间", "the time is before the round started"),
    },
    audit_objects={
        "round": AuditObject(_("筛查轮次"), "screening:round"),
        "round_untested": AuditObject(_("未检人员名单")),
        "recheck_tasks": AuditObject(_("复核任务列表"), "screening:round_tasks"),
        "recheck_task": AuditObject(_("复核任务")),
        "door_visit": AuditObject(_("入户走访")),
        "pool_members": AuditObject(_("混管人员")),
        "pool_alert": AuditObject(_("异常混管预警")),
        "sampled_elsewhere": AuditObject(_("辖区外采样的本辖区人员")),
        "box": AuditObject(_("转运箱")),
        "device": AuditObject(_("设备令牌")),
        "sites": AuditObject(_("采样点文件")),
        "labs": AuditObject(_("检测机构文件")),
        "samples": AuditObject(_("采样文件")),
        "results": AuditObject(_("结果文件")),
    },
    audit_fields={
        "scope": _("范围"),
        "closed": _("已结束"),
        "tube": _("管码"),
        "tubes": _("管数"),
        "round": _("轮次"),
        "site": _("采样点"),
        "lab": _("检测机构"),
        "acknowledged": _("已签收"),
        "reason": _("原因"),
        "filter": _("筛选"),
        "person": _("人员"),
        "outcome": _("走访结果"),
    },
    cli="lianfang.screening.cli.register",
    urls="lianfang.screening.urls",
    api_router="lianfang.screening.api.router",
    api_prefix="/screening",
    nav=(
        NavEntry(
            label=_("核酸筛查"), url_name="screening:rounds", order=20, active=("/rounds/", "/screening/")
        ),
    ),
    provides={
        "round_status": "lianfang.screening.facts.round_status",
        "overdue.screening": "lianfang.screening.facts.overdue_rechecks",
    },
    home=(
        HomeSection(
            template="lianfang/screening/home_act_now.html",
            context="lianfang.screening.home.act_now",
            order=10,
        ),
    ),
    person_panels=(
        PersonPanel(
            template="lianfang/screening/person_panel.html",
            context="lianfang.screening.panels.person_screening",
            order=10,
        ),
    ),
)
