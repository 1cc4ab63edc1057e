"""``{% import_guide kind %}``: the columns an upload takes, with the template download, for any
upload page (the registry, samples, results, sites, labs, and whatever kind an app adds)."""

from django import template

from lianfang.imports.guide import import_guide as guide_of

register = template.Library()


@register.inclusion_tag("lianfang/imports/guide.html")
def import_guide(kind: str, opened: bool = True):
    from django.utils.translation import get_language

    from lianfang.core import plugins

    importer = plugins.importers().get(kind)
    label = importer.label[1 if (get_language() or "").startswith("en") else 0] if importer else kind
    return {"kind": kind, "label": label, "columns": guide_of(kind), "opened": opened}
