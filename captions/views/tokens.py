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


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request):
    form = TokenCreateForm(request.POST or None)
    new_token = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                _, new_token = token_create(
                    user=request.user,
                    name=form.cleaned_data["name"],
                    expires_in_days=form.cleaned_data["expires_in_days"],
                )
            except TokenRefused as exc:
                form.add_error(None, exc.message)
        if new_token is None:
            status = 400
        else:
            # Shown on this response only, never stored or redirected with.
            form = TokenCreateForm()
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
