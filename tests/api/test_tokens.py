"""Personal access tokens on the account page: made, shown once, stored hashed, revoked."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from captions.models import PersonalAccessToken
from captions.services.tokens import MAX_ACTIVE_TOKENS, token_authenticate, token_create
from tests.api.conftest import client_with, token_for

pytestmark = pytest.mark.django_db

PAGE = reverse("captions:token_list")
TOKEN_RE = re.compile(r"ihg_[a-z0-9]{8}_[A-Za-z0-9_-]{32}")


def create(client, name="my scheduler", expires="30"):
    return client.post(PAGE, {"name": name, "expires_in_days": expires})


def test_anonymous_is_sent_to_log_in(anon_client):
    response = anon_client.get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert create(anon_client).status_code == 302
    assert not PersonalAccessToken.objects.exists()


def test_a_new_token_is_shown_once_and_only_its_hash_is_stored(alice_client, alice):
    created = create(alice_client)
    assert created.status_code == 302 and created["Location"] == PAGE  # Reloading makes no second one.
    response = alice_client.get(PAGE)
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    [raw] = set(TOKEN_RE.findall(page))
    token = PersonalAccessToken.objects.get()
    assert token.user == alice and token.name == "my scheduler"
    assert raw.startswith(f"ihg_{token.prefix}_")
    assert token.secret_hash == hashlib.sha256(raw.split("_", 2)[2].encode()).hexdigest()
    assert raw not in str(dict(alice_client.session))  # Gone from the session once shown.
    assert raw.split("_", 2)[2] not in str(PersonalAccessToken.objects.values().get())
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    # Shown once: the list shows only the prefix from now on.
    again = alice_client.get(PAGE).content.decode()
    assert raw not in again and f"ihg_{token.prefix}_…" in again and "my scheduler" in again


def test_the_new_token_works_at_once(alice_client):
    create(alice_client)
    raw = TOKEN_RE.search(alice_client.get(PAGE).content.decode()).group(0)
    assert client_with(raw).get(reverse("api:me")).json()["username"] == "alice"


def test_a_token_without_expiry(alice_client):
    create(alice_client, expires="")
    assert PersonalAccessToken.objects.get().expires_at is None


@pytest.mark.parametrize(
    ("name", "expires", "message"),
    [
        ("", "30", "This field is required."),
        ("x" * 81, "30", "Ensure this value has at most 80 characters"),
        ("ok", "12", "Select a valid choice. 12 is not one of the available choices."),
    ],
    ids=["no-name", "long-name", "odd-expiry"],
)
def test_bad_input_says_why_and_makes_nothing(alice_client, name, expires, message):
    response = create(alice_client, name=name, expires=expires)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not TOKEN_RE.search(response.content.decode() + alice_client.get(PAGE).content.decode())
    assert not PersonalAccessToken.objects.exists()


def test_the_number_of_active_tokens_is_capped(alice_client, alice):
    for i in range(MAX_ACTIVE_TOKENS):
        token_for(alice, name=f"t{i}")
    response = create(alice_client)
    assert response.status_code == 400
    assert f"You have {MAX_ACTIVE_TOKENS} active tokens, the limit" in response.content.decode()


def test_revoking_stops_the_token_at_once(alice_client, alice):
    raw = token_for(alice)
    api = client_with(raw)
    assert api.get(reverse("api:me")).status_code == 200
    token = PersonalAccessToken.objects.get()
    response = alice_client.post(reverse("captions:token_revoke", kwargs={"pk": token.pk}))
    assert response.status_code == 302
    assert "Revoked “script”" in alice_client.get(response["Location"]).content.decode()
    assert api.get(reverse("api:me")).status_code == 401
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_other_user_cannot_revoke_or_see_the_token(bob_client, alice):
    token_for(alice, name="alice's bot")
    token = PersonalAccessToken.objects.get()
    assert bob_client.post(reverse("captions:token_revoke", kwargs={"pk": token.pk})).status_code == 404
    assert "alice&#x27;s bot" not in bob_client.get(PAGE).content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoke_needs_post(alice_client, alice):
    token_for(alice)
    token = PersonalAccessToken.objects.get()
    assert alice_client.get(reverse("captions:token_revoke", kwargs={"pk": token.pk})).status_code == 405


def test_last_used_is_recorded_at_most_once_a_minute(alice):
    raw = token_for(alice)
    first = token_authenticate(raw=raw).last_used_at
    assert first is not None
    assert token_authenticate(raw=raw).last_used_at == first
    PersonalAccessToken.objects.update(last_used_at=timezone.now() - timedelta(minutes=2))
    assert token_authenticate(raw=raw).last_used_at > first


def test_the_page_lists_revoked_and_expired_tokens_without_a_revoke_button(alice_client, alice):
    token_for(alice, name="old")
    token_for(alice, name="gone")
    PersonalAccessToken.objects.filter(name="old").update(expires_at=timezone.now() - timedelta(days=1))
    PersonalAccessToken.objects.filter(name="gone").update(revoked_at=timezone.now())
    page = alice_client.get(PAGE).content.decode()
    assert "expired" in page and "revoked" in page
    assert "Revoke</button>" not in page


def test_tokens_are_unique_and_names_are_tidied(alice):
    a, raw_a = token_create(user=alice, name="  my   bot ", expires_in_days=None)
    b, raw_b = token_create(user=alice, name="my bot", expires_in_days=7)
    assert a.name == "my bot" and raw_a != raw_b and a.prefix != b.prefix
