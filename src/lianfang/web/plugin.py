"""The shared pages' own navigation: home, the division tree, person search, registry import."""

from django.utils.translation import gettext_lazy as _

from lianfang.core.plugins import AuditObject, HomeSection, NavEntry, Plugin

PLUGIN = Plugin(
    app="web",
    nav=(
        NavEntry(label=_("首页"), url_name="web:home", order=0),
        NavEntry(label=_("区划与底数"), url_name="web:divisions", order=10, active=("/divisions/",)),
        NavEntry(label=_("人员查询"), url_name="web:search", order=40, active=("/people/",)),
        NavEntry(
            label=_("底数导入"),
            url_name="web:person_import",
            order=50,
            verb="persons.import",
            active=("/people/import/", "/imports/"),
        ),
        NavEntry(label=_("审计日志"), url_name="web:audit", order=90, verb="audit.read", active=("/audit/",)),
    ),
    audit_objects={
        "community_people": AuditObject(_("社区人员名单"), "web:division"),
        "division_people": AuditObject(_("区划底数导出"), "web:division"),
        "import_rejects": AuditObject(_("导入的拒绝行")),
    },
    home=(
        HomeSection(
            template="lianfang/home/failed_imports.html", context="lianfang.web.home.failed_imports", order=90
        ),
    ),
)
