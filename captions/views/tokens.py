"""The account page where a person makes and revokes personal access tokens for the API."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from captions.forms import TokenCreateForm
from captions.models import PersonalAccessToken
from captions.services.tokens import TokenRefused, token_create, token_revoke, tokens_for_user

# The new token waits in the (server-side) session for the one page view that shows it.
NEW_TOKEN_SESSION_KEY = "captions.new_api_token"  # noqa: S105 (a session key name)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request):
    form = TokenCreateForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                _, raw = token_create(
                    user=request.user,
                    name=form.cleaned_data["name"],
                    expires_in_days=form.cleaned_data["expires_in_days"],
                )
            except TokenRefused as exc:
                form.add_error(None, exc.message)
            else:
                # Redirect, so reloading the page cannot make a second token.
                request.session[NEW_TOKEN_SESSION_KEY] = raw
                return redirect("captions:token_list")
        return _render(request, form, new_token=None, status=400)
    return _render(request, form, new_token=request.session.pop(NEW_TOKEN_SESSION_KEY, None))


def _render(request, form, *, new_token, status=200):
    context = {
        "form": form,
        "tokens": tokens_for_user(user=request.user),
        "new_token": new_token,
        "now": timezone.now(),
    }
    return render(request, "captions/token_list.html", context, status=status)


@login_required
@require_POST
def token_revoke_view(request, pk: int):
    token = get_object_or_404(PersonalAccessToken, pk=pk, user=request.user)
    token_revoke(user=request.user, pk=token.pk)
    messages.success(request, f"Revoked “{token.name}”: it no longer works.")
    return redirect("captions:token_list")
