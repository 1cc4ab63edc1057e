"""The command layer's pages (mounted at the site's root by the plugin)."""

from django.urls import path

from lianfang.command import views

app_name = "command"
urlpatterns = [
    path("briefing/", views.briefing_list, name="briefings"),
    path("briefing/<str:day>/", views.briefing_detail, name="briefing"),
    path("briefing/<str:day>/briefing.<str:fmt>", views.briefing_download, name="briefing_download"),
    path("screen/", views.screen, name="screen"),
    path("screen/data.json", views.screen_json, name="screen_json"),
    path("posts/", views.posts, name="posts"),
    path("directives/", views.directives, name="directives"),
    path("directives/<int:pk>/act/", views.directive_act, name="directive_act"),
    path("consultations/", views.consultations, name="consultations"),
    path("consultations/<int:pk>/", views.consultation, name="consultation"),
    path("overdue/", views.overdue, name="overdue"),
    path("problems/", views.problem_list, name="problems"),
    path("problems/<int:pk>/", views.problem_detail, name="problem"),
    path("problems/<int:pk>/act/", views.problem_act, name="problem_act"),
    path("problems/<int:pk>/evidence/", views.problem_evidence, name="problem_evidence"),
    path("problems/evidence/<int:pk>/", views.evidence_download, name="evidence"),
]
