"""What the registry adds to the platform: the ``persons`` import, its reasons and who may run it."""

from django.utils.translation import gettext_lazy as _

from lianfang.accounts.roles import Role
from lianfang.core.plugins import AuditObject, Importer, Plugin
from lianfang.people.idnumbers import PROBLEMS

PLUGIN = Plugin(
    app="people",
    importers=(
        Importer(
            kind="persons",
            run="lianfang.people.services.persons_import",
            label=("底数", "grid registry"),
            page=("web:person_import", _("底数导入")),
        ),
    ),
    # Placing people in their buildings from their addresses, after ``lianfang import buildings``
    # (geo asks for it: it knows no people) and after a persons import.
    provides={"place_residents": "lianfang.people.placing.place_residents"},
    cli="lianfang.people.cli.register",
    audit_objects={
        "person": AuditObject(_("人员"), "web:person"),
        "persons": AuditObject(_("底数文件")),
    },
    audit_fields={"fields": _("修改的字段")},
    fixes={
        "bad_id_type": (
            "证件类型填 居民身份证、护照、港澳居民来往内地通行证、台湾居民来往大陆通行证 或 其他（也可填英文代码），或留空表示居民身份证",
            "write resident_id, passport, hk_macao_permit, taiwan_permit or other (or the Chinese name), or leave it blank for a resident ID",
        ),
        "invalid_id_number": (
            "对照证件核对号码：身份证 18 位，第 7–14 位是出生日期，最后一位是校验位（可为 X）",
            "check the number against the document: a resident ID has 18 characters, digits 7-14 are the birth date, the last is a check digit (may be X)",
        ),
        "id_number_excel": (
            "把证件号码列设为“文本”格式，再按证件重新输入完整号码",
            "format the ID number column as Text and type the full numbers again",
        ),
        "id_number_fullwidth": (
            "切换到英文输入法重新输入号码",
            "type the number again with an English keyboard layout",
        ),
        "id_number_spaces": ("删除号码中的空格后重新输入", "remove the spaces and type the number again"),
        "implausible_birth_year": (
            "核对号码中的出生年份（第 7–10 位）",
            "check the birth year in the number (characters 7-10)",
        ),
        "unknown_community": (
            "填写 12 位社区（村）代码，可在“区划与底数”页查到；须是本辖区的社区",
            "write the 12-digit community (village) code from the divisions page; it must be in your jurisdiction",
        ),
    },
    reasons={
        "bad_id_type": ("证件类型无法识别", "unknown ID type"),
        "invalid_id_number": (
            "证件号码无效（身份证须18位、出生日期真实且不晚于今天、校验位正确）",
            "invalid ID number (a resident ID needs 18 characters, a real past birth date and the right check digit)",
        ),
        # what an invalid ID number shows of its cause (people.idnumbers.problem)
        **PROBLEMS,
    },
    verbs={
        # Roles that may import the grid registry (底数).
        "persons.import": frozenset({Role.COMMAND_OFFICE, Role.COMMUNITY_WORKER, Role.ADMIN}),
        # Roles whose tokens may search and look up people through the API (always within their
        # jurisdiction). Not sampling sites, labs or volunteers: their devices write samples and
        # results, and a harvested device token must not page through the registry.
        "persons.read": frozenset(
            {
                Role.COMMANDER,
                Role.COMMAND_OFFICE,
                Role.WORKING_GROUP,
                Role.INSPECTOR,
                Role.TRACER,
                Role.TRANSFER,
                Role.ISOLATION,
                Role.COMMUNITY_WORKER,
            }
        ),
    },
)
