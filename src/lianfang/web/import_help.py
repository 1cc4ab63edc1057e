"""The template of an import kind (lianfang.imports.guide): an XLSX to fill in, no personal data."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

from lianfang.accounts.scoping import scoped
from lianfang.core.downloads import XLSX_TYPE
from lianfang.imports.guide import columns_of, import_template


@scoped
@require_GET
def template_download(request, kind: str):
    if not columns_of(kind):
        raise Http404
    response = HttpResponse(import_template(kind), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="template-{kind}.xlsx"'
    return response
