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
