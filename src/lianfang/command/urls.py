"""The command layer's pages (mounted at the site's root by the plugin)."""

from django.urls import path

from lianfang.command import views

app_name = "command"
urlpatterns = [
    path("briefing/", views.briefing_list, name="briefings"),
    path("briefing/<str:day>/", views.briefing_detail, name="briefing"),
    path("briefing/<str:day>/briefing.<str:fmt>", views.briefing_download, name="briefing_download"),
]
