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
    audit_objects={
        "person": AuditObject(_("人员"), "web:person"),
        "persons": AuditObject(_("底数文件")),
    },
    audit_fields={"fields": _("修改的字段")},
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
