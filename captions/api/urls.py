from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from captions.api.problems import problem_not_found
from captions.api.views import account, jobs, photos

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("v1/photos/", photos.PhotoCollection.as_view(), name="photos"),
    path("v1/photos/<uuid:uuid>/", photos.PhotoResource.as_view(), name="photo"),
    path("v1/photos/<uuid:uuid>/runs/", photos.PhotoRuns.as_view(), name="photo_runs"),
    path("v1/photos/<uuid:uuid>/image/", photos.PhotoMedia.as_view(kind="image"), name="photo_image"),
    path(
        "v1/photos/<uuid:uuid>/thumbnail/",
        photos.PhotoMedia.as_view(kind="thumbnail"),
        name="photo_thumbnail",
    ),
    path("v1/jobs/<int:pk>/", jobs.JobResource.as_view(), name="job"),
    path("v1/variants/<int:pk>/favourite/", jobs.VariantFavourite.as_view(), name="variant_favourite"),
    path("v1/me/", account.Me.as_view(), name="me"),
    # Anything else under /api/ is a 404 in problem-details form, not the site's HTML page.
    re_path(r"^.*$", problem_not_found, name="not_found"),
]
