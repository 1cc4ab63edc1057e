from django.http import HttpResponse
from django.urls import path

from lianfang.accounts.scoping import actor_of, scoped

app_name = "wells"


@scoped
def wells(request):
    return HttpResponse(f"wells of {','.join(actor_of(request).codes)}")


urlpatterns = [path("wells/", wells, name="list")]
