"""Accounts from the visitor's side: sign up, log in and out, passwords, and login throttling."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

NEW_PASSWORD = "purple elephant juggling 42 teacups"


def log_in(client: Client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def logged_in_as(client: Client) -> str | None:
    """The username the site greets this client with, or None when it shows the login link."""
    page = client.get(reverse("captions:photo_list"))
    if page.status_code != 200:
        return None
    return page.context["user"].get_username()


# Sign up


@pytest.mark.django_db
def test_sign_up_creates_the_user_logs_them_in_and_opens_the_upload_page():
    client = Client()
    response = client.post(
        reverse("signup"),
        {
            "username": "carol",
            "email": "carol@example.com",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("captions:photo_upload")
    user = get_user_model().objects.get(username="carol")
    assert user.email == "carol@example.com"
    assert user.check_password(NEW_PASSWORD)
    assert logged_in_as(client) == "carol"


@pytest.mark.django_db
def test_sign_up_needs_an_email_and_matching_passwords():
    client = Client()
    response = client.post(
        reverse("signup"), {"username": "carol", "email": "", "password1": NEW_PASSWORD, "password2": "other"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"email", "password2"}
    assert not get_user_model().objects.filter(username="carol").exists()


@pytest.mark.django_db
def test_sign_up_refuses_a_taken_username(alice):
    response = Client().post(
        reverse("signup"),
        {
            "username": "alice",
            "email": "a2@example.com",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 200
    assert "username" in response.context["form"].errors
    assert get_user_model().objects.filter(username="alice").count() == 1


@pytest.mark.django_db
def test_signed_in_user_visiting_sign_up_goes_to_history(alice_client):
    response = alice_client.get(reverse("signup"))
    assert response["Location"] == reverse("captions:photo_list")


# Log in and out


@pytest.mark.django_db
def test_log_in_with_the_right_password_opens_history(alice):
    client = Client()
    response = log_in(client, "alice", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("captions:photo_list")
    assert logged_in_as(client) == "alice"


@pytest.mark.django_db
def test_log_in_returns_to_the_page_asked_for(alice):
    client = Client()
    upload = reverse("captions:photo_upload")
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD, "next": upload})
    assert response["Location"] == upload


@pytest.mark.django_db
def test_log_in_with_a_wrong_password_shows_the_form_again(alice):
    client = Client()
    response = log_in(client, "alice", "not the password")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert logged_in_as(client) is None


@pytest.mark.django_db
def test_log_out_is_a_post_and_ends_the_session(alice_client):
    assert alice_client.get(reverse("logout")).status_code == 405
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
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response["Location"] == reverse("password_change_done")
    assert logged_in_as(alice_client) == "alice"  # Changing the password keeps this session.
    assert "Your password was changed" in alice_client.get(response["Location"]).content.decode()

    fresh = Client()
    assert log_in(fresh, "alice", PASSWORD).status_code == 200
    assert log_in(fresh, "alice", NEW_PASSWORD).status_code == 302


@pytest.mark.django_db
def test_change_password_needs_the_old_one(alice, alice_client):
    response = alice_client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


@pytest.mark.django_db
def test_change_password_page_needs_a_login(anon_client):
    response = anon_client.get(reverse("password_change"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def _reset_link(message) -> str:
    found = re.search(r"https?://testserver(/accounts/reset/[^\s]+/)", message.body)
    assert found, message.body
    return found.group(1)


@pytest.mark.django_db
def test_reset_password_by_mail_then_log_in_with_the_new_one(alice):
    client = Client()
    response = client.post(reverse("password_reset"), {"email": "alice@example.com"})
    assert response["Location"] == reverse("password_reset_done")
    assert "Check your inbox" in client.get(response["Location"]).content.decode()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    link = _reset_link(message)

    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    assert form_page.context["validlink"] is True
    set_url = form_page.redirect_chain[-1][0]  # Django swaps the token for a session-held one.
    done = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done["Location"] == reverse("password_reset_complete")
    assert "Your password is set" in client.get(done["Location"]).content.decode()

    fresh = Client()
    assert log_in(fresh, "alice", NEW_PASSWORD).status_code == 302
    assert logged_in_as(fresh) == "alice"
    assert log_in(Client(), "alice", PASSWORD).status_code == 200


@pytest.mark.django_db
def test_reset_link_works_only_once(alice):
    client = Client()
    client.post(reverse("password_reset"), {"email": "alice@example.com"})
    link = _reset_link(mail.outbox[0])
    set_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    again = Client().get(link, follow=True)
    assert again.context["validlink"] is False
    assert "This reset link is not valid any more" in again.content.decode()


@pytest.mark.django_db
def test_reset_for_an_unknown_address_looks_the_same_and_sends_nothing():
    response = Client().post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


# Login throttling


def _fail(client: Client, username: str, times: int) -> list[int]:
    return [log_in(client, username, "wrong password").status_code for _ in range(times)]


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
def test_signup_refuses_an_email_address_already_in_use(anon_client, alice):
    response = anon_client.post(
        reverse("signup"),
        {
            "username": "alice2",
            "email": alice.email.upper(),
            "password1": "a-long and unusual passphrase",
            "password2": "a-long and unusual passphrase",
        },
    )
    assert response.status_code == 200
    assert "An account with this email address already exists." in response.content.decode()
    assert not type(alice).objects.filter(username="alice2").exists()
