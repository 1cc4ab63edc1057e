from django.urls import path

from lianfang.edition import views

app_name = "edition"
urlpatterns = [path("protocol/", views.edition_page, name="page")]
