"""What mass screening adds to the platform: its imports and reasons, who may do what, its
commands, pages, API and the person page's screening history."""

from django.utils.translation import gettext_lazy as _

from lianfang.accounts.roles import Role
from lianfang.core.plugins import HomeSection, Importer, NavEntry, PersonPanel, Plugin

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
        "sites.import": frozenset({Role.WORKING_GROUP, *_OFFICE}),
        "labs.import": frozenset(_OFFICE),
        "samples.import": frozenset({Role.SAMPLER, Role.WORKING_GROUP, *_OFFICE}),
        "results.import": frozenset({Role.LAB, Role.WORKING_GROUP, *_OFFICE}),
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
    cli="lianfang.screening.cli.register",
    urls="lianfang.screening.urls",
    api_router="lianfang.screening.api.router",
    api_prefix="/screening",
    nav=(
        NavEntry(
            label=_("核酸筛查"), url_name="screening:rounds", order=20, active=("/rounds/", "/screening/")
        ),
    ),
    provides={"round_status": "lianfang.screening.facts.round_status"},
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
