from django.contrib import admin
from django.urls import include, path

from lianfang.api.api import api
from lianfang.core import plugins

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("lianfang.web.urls")),
    # Each app's pages, as its plugin declares them.
    *(path("", include(p.urls)) for p in plugins.discover() if p.urls),
]

# Error pages in the product's layout and language (web/errors.py).
handler400 = "lianfang.web.errors.bad_request"
handler403 = "lianfang.web.errors.permission_denied"
handler404 = "lianfang.web.errors.page_not_found"
handler500 = "lianfang.web.errors.server_error"
