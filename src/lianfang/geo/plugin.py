"""What the division tree adds to the platform: the ``divisions`` and ``buildings`` imports and
their reasons."""

from lianfang.accounts.roles import Role
from lianfang.core.plugins import Importer, Plugin

PLUGIN = Plugin(
    app="geo",
    importers=(
        Importer(
            kind="divisions",
            run="lianfang.geo.services.divisions_import_files",
            label=("行政区划", "divisions"),
            files="many",
        ),
        Importer(
            kind="buildings",
            run="lianfang.geo.places.buildings_import",
            label=("小区与楼栋", "compounds and buildings"),
            progress=False,
        ),
    ),
    verbs={
        # Who registers a community's compounds and buildings: those who import its registry.
        "buildings.import": frozenset({Role.COMMAND_OFFICE, Role.COMMUNITY_WORKER, Role.ADMIN}),
    },
    fixes={
        "bad_code": (
            "按国家区划代码填写 2、4、6、9 或 12 位数字",
            "write the national division code: 2, 4, 6, 9 or 12 digits",
        ),
        "unknown_parent": (
            "先导入上级区划的文件（省、市、县、乡镇、社区的顺序）",
            "import the parent level's file first (province, city, county, town, community)",
        ),
        "too_many_places": (
            "一个社区最多 999 个小区、一个小区最多 999 栋楼；请核对是否重复登记",
            "a community holds at most 999 compounds, a compound 999 buildings: check for repeats",
        ),
    },
    reasons={
        "bad_code": ("区划代码须为2/4/6/9/12位数字", "a division code has 2, 4, 6, 9 or 12 digits"),
        "unknown_parent": ("上级区划不存在", "the parent division is unknown"),
        "unknown_community": (
            "社区村代码不存在（或不在您的辖区内）",
            "unknown community code (or not in your jurisdiction)",
        ),
        "too_many_places": (
            "小区或楼栋编号已满（每级最多 999 个）",
            "no compound or building number left (at most 999 at each level)",
        ),
    },
)
