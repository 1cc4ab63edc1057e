from django.contrib import admin
from django.urls import include, path

from lianfang.api.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("lianfang.web.urls")),
]
