from django.contrib import admin
from django.urls import include, path

from captions.views import accounts

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("captions.urls")),
]

# --- API -----------------------------------------------------------------------------------------
urlpatterns.insert(0, path("api/", include("captions.api.urls")))
