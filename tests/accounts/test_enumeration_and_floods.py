"""Whether an address is registered must not show, on sign-up or on password reset; and sign-up
cannot be used to make accounts in bulk."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

PASSWORD = "purple elephant juggling 42 teacups"


def sign_up(client: Client, username: str, email: str):
    data = {"username": username, "email": email, "password1": PASSWORD, "password2": PASSWORD}
    return client.post(reverse("signup"), data)


def page_after(client: Client, response, typed: str) -> str:
    """The page a visitor lands on, without the per-session CSRF token and the address they typed."""
    assert response.status_code == 302, response.content.decode()[:1000]
    page = client.get(response["Location"]).content.decode()
    page = re.sub(re.escape(typed), "ADDRESS", page, flags=re.IGNORECASE)
    return re.sub(r'"X-CSRFToken": "[^"]+"', "", page)


@pytest.mark.django_db
def test_sign_up_with_a_registered_address_answers_like_a_new_one_and_mails_its_owner(settings, alice):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    new_client, taken_client = Client(), Client()
    new = sign_up(new_client, "carol", "carol@example.com")
    taken = sign_up(taken_client, "mallory", alice.email.upper())

    assert new["Location"] == taken["Location"] == reverse("account_email_verification_sent")
    assert page_after(new_client, new, "carol@example.com") == page_after(taken_client, taken, alice.email)
    assert not get_user_model().objects.filter(username="mallory").exists()
    owner_mail = [m for m in mail.outbox if m.to == [alice.email]]
    assert len(owner_mail) == 1
    assert "an account using that email address already exists" in owner_mail[0].body
    assert "/accounts/password/reset/" in owner_mail[0].body
    assert [m.to for m in mail.outbox if m not in owner_mail] == [["carol@example.com"]]


@pytest.mark.django_db
def test_with_verification_optional_a_taken_address_is_refused(settings, alice):
    """Development default: a new account is logged in at once, so the answers cannot be made
    alike; the address is refused rather than given a second account."""
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"
    response = sign_up(Client(), "mallory", alice.email)
    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    assert not get_user_model().objects.filter(username="mallory").exists()


@pytest.mark.django_db
def test_password_reset_answers_alike_for_known_and_unknown_addresses(alice):
    known_client, unknown_client = Client(), Client()
    known = known_client.post(reverse("password_reset"), {"email": alice.email})
    unknown = unknown_client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert known["Location"] == unknown["Location"] == reverse("account_reset_password_done")
    assert page_after(known_client, known, alice.email) == page_after(
        unknown_client, unknown, "nobody@example.com"
    )
    assert [m.to for m in mail.outbox] == [[alice.email]]


@pytest.mark.django_db
def test_a_sign_up_flood_from_one_address_hits_the_rate_limit(settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    client = Client(REMOTE_ADDR="198.51.100.20")
    codes = [sign_up(client, f"bot{n}", f"bot{n}@example.com").status_code for n in range(10)]
    assert codes == [302] * 10
    refused = sign_up(client, "bot10", "bot10@example.com")
    assert refused.status_code == 429
    assert "Too many requests, try again later" in refused.content.decode()
    assert not get_user_model().objects.filter(username="bot10").exists()
    # Someone else, from another address, is not held up.
    assert sign_up(Client(REMOTE_ADDR="203.0.113.5"), "dave", "dave@example.com").status_code == 302


@pytest.mark.django_db
def test_password_reset_requests_for_one_address_are_limited(alice):
    client = Client()
    codes = [client.post(reverse("password_reset"), {"email": alice.email}).status_code for _ in range(6)]
    assert codes[-1] == 429
    assert len(mail.outbox) == 5


@pytest.mark.django_db
def test_usernames_are_the_one_thing_sign_up_must_reveal():
    """Documented limit: a username is public (it is how people log in), so a taken one is named."""
    UserFactory(username="erin")
    response = sign_up(Client(), "erin", "erin2@example.com")
    assert "username" in response.context["form"].errors
