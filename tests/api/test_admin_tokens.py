"""Staff and tokens: moderators see tokens (never secrets) and revoke them with a reason."""

import pytest
from django.urls import reverse

from captions.models import ModerationAction, PersonalAccessToken
from tests.api.conftest import client_with, token_for

pytestmark = pytest.mark.django_db

TOKENS = reverse("admin:captions_personalaccesstoken_changelist")


def revoke(client, token, reason="Posted in a public repository"):
    return client.post(
        TOKENS,
        {"action": "revoke_tokens", "_selected_action": [token.pk], "confirm": "yes", "reason": reason},
    )


def test_moderator_sees_tokens_but_never_their_secrets(moderator_client, alice):
    raw = token_for(alice, name="alice's scheduler")
    page = moderator_client.get(TOKENS).content.decode()
    token = PersonalAccessToken.objects.get()
    assert "alice&#x27;s scheduler" in page and token.prefix in page
    assert raw.split("_", 2)[2] not in page and token.secret_hash not in page
    detail = moderator_client.get(reverse("admin:captions_personalaccesstoken_change", args=[token.pk]))
    assert token.secret_hash not in detail.content.decode()
    assert moderator_client.get(reverse("admin:captions_personalaccesstoken_add")).status_code == 403


def test_moderator_revokes_a_token_with_a_reason_and_it_stops_at_once(moderator_client, moderator, alice):
    raw = token_for(alice)
    token = PersonalAccessToken.objects.get()
    assert "reason" in revoke(moderator_client, token, reason="").content.decode()  # Asked again.
    assert client_with(raw).get(reverse("api:me")).status_code == 200
    assert revoke(moderator_client, token).status_code == 302
    assert client_with(raw).get(reverse("api:me")).status_code == 401
    action = ModerationAction.objects.get(action="token_revoke")
    assert action.actor == moderator and action.reason == "Posted in a public repository"
    assert action.target_id == str(token.pk)


def test_a_user_who_is_not_staff_cannot_open_the_token_admin(alice_client, alice):
    token_for(alice)
    response = alice_client.get(TOKENS)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
