"""Accounts from the visitor's side: sign up (with and without email verification), log in and
out, passwords, and login throttling."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

NEW_PASSWORD = "purple elephant juggling 42 teacups"


def log_in(client: Client, login: str, password: str):
    return client.post(reverse("login"), {"login": login, "password": password})


def logged_in_as(client: Client) -> str | None:
    """The username the site greets this client with, or None when it shows the login link."""
    page = client.get(reverse("captions:photo_list"))
    if page.status_code != 200:
        return None
    return page.context["user"].get_username()


def sign_up(client: Client, username: str = "carol", email: str = "carol@example.com", **fields):
    data = {"username": username, "email": email, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    return client.post(reverse("signup"), {**data, **fields})


def link_in(message, path_prefix: str) -> str:
    found = re.search(rf"https?://testserver({re.escape(path_prefix)}[^\s]+)", message.body)
    assert found, message.body
    return found.group(1)


# Sign up, email verification optional (the development default)


@pytest.mark.django_db
def test_sign_up_creates_the_user_logs_them_in_and_opens_the_upload_page(settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"
    client = Client()
    response = sign_up(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("captions:photo_upload")
    user = get_user_model().objects.get(username="carol")
    assert user.email == "carol@example.com"
    assert user.check_password(NEW_PASSWORD)
    assert logged_in_as(client) == "carol"
    assert [m.to for m in mail.outbox] == [["carol@example.com"]]  # a confirmation link, not required
    assert client.get(reverse("captions:photo_upload")).status_code == 200


@pytest.mark.django_db
def test_sign_up_needs_an_email_and_matching_passwords():
    client = Client()
    response = sign_up(client, email="", password2="other")
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"email", "password2"}
    assert not get_user_model().objects.filter(username="carol").exists()


@pytest.mark.django_db
def test_sign_up_refuses_a_taken_username(alice):
    response = sign_up(Client(), username="alice", email="a2@example.com")
    assert response.status_code == 200
    assert "username" in response.context["form"].errors
    assert get_user_model().objects.filter(username="alice").count() == 1


@pytest.mark.django_db
def test_signed_in_user_visiting_sign_up_goes_to_history(alice_client):
    response = alice_client.get(reverse("signup"))
    assert response["Location"] == reverse("captions:photo_list")


# Sign up, email verification mandatory (the production default)


@pytest.fixture
def mandatory(settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"


@pytest.mark.django_db
def test_mandatory_verification_mails_a_link_and_logs_in_only_once_it_is_opened(mandatory):
    client = Client()
    response = sign_up(client)
    assert response["Location"] == reverse("account_email_verification_sent")
    assert "Verify Your Email Address" in client.get(response["Location"]).content.decode()
    assert logged_in_as(client) is None
    assert log_in(Client(), "carol", NEW_PASSWORD)["Location"] == reverse("account_email_verification_sent")

    [message] = mail.outbox
    assert message.to == ["carol@example.com"]
    link = link_in(message, "/accounts/confirm-email/")
    assert client.get(link).status_code == 200  # the page asks to confirm with a POST
    confirmed = client.post(link)
    assert confirmed.status_code == 302
    assert logged_in_as(client) == "carol"
    assert client.get(reverse("captions:photo_upload")).status_code == 200


@pytest.mark.django_db
def test_mandatory_verification_keeps_an_unverified_session_from_uploading(mandatory):
    """A session from before the setting, or an account made by hand, meets the same wall."""
    user = UserFactory(username="dave")
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    page = client.get(reverse("captions:photo_upload"))
    assert page.status_code == 200
    assert "verify" in page.content.decode().lower()
    assert "upload-form" not in page.content.decode()
    assert [m.to for m in mail.outbox] == [["dave@example.com"]]


# Log in and out


@pytest.mark.django_db
def test_log_in_with_the_right_password_opens_history(alice):
    client = Client()
    response = log_in(client, "alice", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("captions:photo_list")
    assert logged_in_as(client) == "alice"


@pytest.mark.django_db
def test_log_in_with_the_email_address_works_too(alice):
    client = Client()
    assert log_in(client, "alice@example.com", PASSWORD).status_code == 302
    assert logged_in_as(client) == "alice"


@pytest.mark.django_db
def test_log_in_returns_to_the_page_asked_for(alice):
    client = Client()
    upload = reverse("captions:photo_upload")
    response = client.post(reverse("login"), {"login": "alice", "password": PASSWORD, "next": upload})
    assert response["Location"] == upload


@pytest.mark.django_db
def test_log_in_with_a_wrong_password_shows_the_form_again(alice):
    client = Client()
    response = log_in(client, "alice", "not the password")
    assert response.status_code == 200
    assert "The username and/or password you specified are not correct." in response.content.decode()
    assert logged_in_as(client) is None


@pytest.mark.django_db
def test_log_out_is_a_post_and_ends_the_session(alice_client):
    page = alice_client.get(reverse("logout"))  # a confirmation page; nothing happens yet
    assert page.status_code == 200
    assert logged_in_as(alice_client) == "alice"
    response = alice_client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert logged_in_as(alice_client) is None


@pytest.mark.django_db
def test_every_page_has_a_log_out_button_that_posts(alice_client):
    page = alice_client.get(reverse("captions:photo_list")).content.decode()
    assert f'<form method="post" action="{reverse("logout")}"' in page


# Passwords


@pytest.mark.django_db
def test_change_password_then_log_in_with_the_new_one(alice, alice_client):
    response = alice_client.post(
        reverse("password_change"),
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert "Password successfully changed." in alice_client.get(response["Location"]).content.decode()
    assert logged_in_as(alice_client) == "alice"  # Changing the password keeps this session.

    fresh = Client()
    assert log_in(fresh, "alice", PASSWORD).status_code == 200
    assert log_in(fresh, "alice", NEW_PASSWORD).status_code == 302


@pytest.mark.django_db
def test_change_password_needs_the_old_one(alice, alice_client):
    response = alice_client.post(
        reverse("password_change"),
        {"oldpassword": "wrong", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "oldpassword" in response.context["form"].errors
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


@pytest.mark.django_db
def test_change_password_page_needs_a_login(anon_client):
    response = anon_client.get(reverse("password_change"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_old_password_addresses_lead_to_the_new_pages(alice_client):
    assert alice_client.get("/accounts/password_change/")["Location"] == reverse("account_change_password")
    assert alice_client.get("/accounts/password_reset/")["Location"] == reverse("account_reset_password")


def _reset_and_follow(client: Client, email: str):
    response = client.post(reverse("password_reset"), {"email": email})
    assert response["Location"] == reverse("account_reset_password_done")
    link = link_in(mail.outbox[-1], "/accounts/password/reset/key/")
    form_page = client.get(link, follow=True)
    return link, form_page


@pytest.mark.django_db
def test_reset_password_by_mail_then_log_in_with_the_new_one(alice):
    client = Client()
    _link, form_page = _reset_and_follow(client, "alice@example.com")
    assert mail.outbox[0].to == ["alice@example.com"]
    assert form_page.status_code == 200
    set_url = form_page.redirect_chain[-1][0]  # allauth swaps the key for a session-held one.
    done = client.post(set_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done["Location"] == reverse("account_reset_password_from_key_done")

    fresh = Client()
    assert log_in(fresh, "alice", NEW_PASSWORD).status_code == 302
    assert logged_in_as(fresh) == "alice"
    assert log_in(Client(), "alice", PASSWORD).status_code == 200


@pytest.mark.django_db
def test_reset_link_works_only_once(alice):
    client = Client()
    link, form_page = _reset_and_follow(client, "alice@example.com")
    client.post(form_page.redirect_chain[-1][0], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    again = Client().get(link, follow=True)
    assert "Bad Token" in again.content.decode()
    assert "password1" not in again.content.decode()


@pytest.mark.django_db
def test_reset_for_an_unknown_address_looks_the_same_and_sends_nothing():
    response = Client().post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response["Location"] == reverse("account_reset_password_done")
    assert mail.outbox == []


# Login throttling (django-axes)


def _fail(client: Client, login: str, times: int) -> list[int]:
    return [log_in(client, login, "wrong password").status_code for _ in range(times)]


@pytest.mark.django_db
def test_five_failed_logins_lock_that_username_with_a_clear_page(alice):
    client = Client()
    codes = _fail(client, "alice", 5)
    assert codes[:4] == [200, 200, 200, 200]
    response = log_in(client, "alice", "wrong password")
    assert response.status_code == 429
    assert "Too many attempts, try again later" in response.content.decode()
    assert "registration/lockout.html" in [t.name for t in response.templates]


@pytest.mark.django_db
def test_locked_username_is_refused_even_with_the_right_password(alice):
    client = Client()
    _fail(client, "alice", 5)
    response = log_in(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert "Too many attempts, try again later" in response.content.decode()
    assert logged_in_as(client) is None


@pytest.mark.django_db
def test_lockout_of_one_username_leaves_others_from_the_same_address_alone(alice, bob):
    client = Client()
    _fail(client, "alice", 5)
    response = log_in(client, "bob", PASSWORD)
    assert response.status_code == 302
    assert logged_in_as(client) == "bob"


@pytest.mark.django_db
def test_same_username_from_another_address_is_not_locked(alice):
    _fail(Client(REMOTE_ADDR="198.51.100.7"), "alice", 5)
    client = Client(REMOTE_ADDR="203.0.113.9")
    assert log_in(client, "alice", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_a_successful_login_clears_earlier_failures(alice):
    client = Client()
    _fail(client, "alice", 4)
    assert log_in(client, "alice", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    assert _fail(client, "alice", 4) == [200, 200, 200, 200]
    assert log_in(client, "alice", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_unknown_usernames_are_throttled_too():
    UserFactory(username="dave")
    client = Client()
    _fail(client, "mallory", 5)
    assert log_in(client, "mallory", "anything").status_code == 429


@pytest.mark.django_db
def test_login_by_email_counts_against_the_same_lock_as_what_was_typed(alice):
    client = Client()
    _fail(client, "ALICE@example.com", 5)
    assert log_in(client, "alice@example.com", PASSWORD).status_code == 429


@pytest.mark.django_db
def test_a_password_change_is_told_to_the_account_by_mail(alice, alice_client):
    alice_client.post(
        reverse("password_change"),
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    [message] = mail.outbox
    assert message.to == [alice.email]
    assert "Your password has been changed" in message.body
    assert "IP address: 127.0.0.1" in message.body
