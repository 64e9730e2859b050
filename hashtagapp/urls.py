from allauth.account import views as account_views
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from captions.accounts import two_factor

urlpatterns = [
    path("admin/", admin.site.urls),
    # Accounts are django-allauth's. The names the site's code and links used before stay valid.
    path("accounts/login/", account_views.login, name="login"),
    path("accounts/logout/", account_views.logout, name="logout"),
    path("accounts/signup/", account_views.signup, name="signup"),
    path("accounts/password/change/", account_views.password_change, name="password_change"),
    path("accounts/password/reset/", account_views.password_reset, name="password_reset"),
    path("accounts/password_change/", RedirectView.as_view(pattern_name="account_change_password")),
    path("accounts/password_reset/", RedirectView.as_view(pattern_name="account_reset_password")),
    path("accounts/2fa/totp/activate/", two_factor.activate_totp, name="mfa_activate_totp"),
    path("accounts/", include("allauth.urls")),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's).
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("icons/favicon.svg"))),
    path("", include("captions.urls")),
]

# --- API -----------------------------------------------------------------------------------------
urlpatterns.insert(0, path("api/", include("captions.api.urls")))
