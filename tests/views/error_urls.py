"""The site's URLs and one view that fails, for the error page tests."""

from django.urls import path

from hashtagapp.urls import urlpatterns as site_urlpatterns


def broken(request):
    raise RuntimeError("the database fell over")


urlpatterns = [path("broken/", broken), *site_urlpatterns]
