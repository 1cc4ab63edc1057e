"""What the division tree adds to the platform: the ``divisions`` import and its reasons."""

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
    ),
    fixes={
        "bad_code": (
            "按国家区划代码填写 2、4、6、9 或 12 位数字",
            "write the national division code: 2, 4, 6, 9 or 12 digits",
        ),
        "unknown_parent": (
            "先导入上级区划的文件（省、市、县、乡镇、社区的顺序）",
            "import the parent level's file first (province, city, county, town, community)",
        ),
    },
    reasons={
        "bad_code": ("区划代码须为2/4/6/9/12位数字", "a division code has 2, 4, 6, 9 or 12 digits"),
        "unknown_parent": ("上级区划不存在", "the parent division is unknown"),
        "unknown_community": (
            "社区村代码不存在（或不在您的辖区内）",
            "unknown community code (or not in your jurisdiction)",
        ),
    },
)
