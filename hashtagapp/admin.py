"""The admin site: staff only, and only from a session that passed two-factor authentication.

The admin never shows its own login form (which knows nothing of a second factor, and whose
username went to django-axes unchecked). Its login URL sends each visitor where they can go on:
anonymous visitors to the site's login, staff without TOTP to set it up, staff with TOTP whose
session has not used it to confirm a code. What a staff member may see and do inside is up to
their permissions (the "moderator" group gives the usual set).
"""

from __future__ import annotations

from urllib.parse import urlencode

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from captions.accounts.two_factor import session_used_two_factor


class StaffAdminSite(admin.AdminSite):
    site_header = "Image Hashtag Generator"
    site_title = "Image Hashtag Generator admin"

    def has_permission(self, request) -> bool:
        return super().has_permission(request) and session_used_two_factor(request)

    def login(self, request, extra_context=None):
        target = self._next(request)
        user = request.user
        if not user.is_authenticated:
            return _redirect("account_login", target)
        if not (user.is_active and user.is_staff):
            return render(request, "admin/not_staff.html", status=403)
        if not is_mfa_enabled(user, [Authenticator.Type.TOTP]):
            messages.info(
                request,
                "Staff accounts need two-factor authentication (an authenticator app) to use the admin. "
                "Turn it on here; you may be asked for your password first.",
            )
            return _redirect("mfa_activate_totp", target)
        if not session_used_two_factor(request):
            return _redirect("mfa_reauthenticate", target)
        return HttpResponseRedirect(target)

    def _next(self, request) -> str:
        target = request.GET.get("next", "")
        if target and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return target
        return reverse("admin:index", current_app=self.name)


def _redirect(name: str, target: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse(name)}?{urlencode({'next': target})}")
