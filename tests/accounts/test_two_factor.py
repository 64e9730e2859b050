"""Two-factor authentication: required for staff to reach the admin, optional for everyone else.
Codes come from pyotp, as from a phone's authenticator app."""

from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory
from tests.two_factor import current_code, log_in_with_totp, totp_enable

ADMIN = reverse("admin:index")


def follow_to_admin(client: Client):
    """GET /admin/ and follow the admin's login redirect once: where the site sends this person."""
    first = client.get(ADMIN)
    if first.status_code != 302:
        return first
    assert urlsplit(first["Location"]).path == reverse("admin:login")
    return client.get(first["Location"])


def path_and_next(response) -> tuple[str, str]:
    target = urlsplit(response["Location"])
    return target.path, parse_qs(target.query).get("next", [""])[0]


def password_login(client: Client, user) -> None:
    response = client.post(reverse("account_login"), {"login": user.username, "password": PASSWORD})
    assert response.status_code == 302


def open_totp_activation(client: Client):
    """The activation page, after the password is asked again as it is for every security change."""
    asked = client.get(reverse("mfa_activate_totp"))
    assert urlsplit(asked["Location"]).path == reverse("account_reauthenticate")
    back = client.post(asked["Location"], {"password": PASSWORD})
    assert back["Location"] == reverse("mfa_activate_totp")
    return client.get(back["Location"])


@pytest.fixture
def root(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.mark.django_db
def test_anonymous_visitor_at_the_admin_is_sent_to_the_site_login(client):
    assert path_and_next(follow_to_admin(client)) == (reverse("account_login"), ADMIN)


@pytest.mark.django_db
def test_staff_without_two_factor_is_sent_to_turn_it_on(root):
    client = Client()
    password_login(client, root)
    response = follow_to_admin(client)
    assert path_and_next(response) == (reverse("mfa_activate_totp"), ADMIN)
    assert client.get(ADMIN).status_code == 302  # still no admin


@pytest.mark.django_db
def test_staff_with_totp_is_asked_for_a_code_at_login_and_reaches_the_admin_only_after(root):
    secret = totp_enable(root)
    client = Client()
    step = client.post(reverse("account_login"), {"login": "root", "password": PASSWORD})
    assert step["Location"] == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session  # the password alone logs nobody in
    assert follow_to_admin(client)["Location"].startswith(reverse("account_login"))

    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200 and "Incorrect code." in wrong.content.decode()
    client.post(reverse("mfa_authenticate"), {"code": current_code(secret)})
    page = client.get(ADMIN)
    assert page.status_code == 200
    assert "Site administration" in page.content.decode()


@pytest.mark.django_db
def test_a_session_that_did_not_use_the_second_factor_is_asked_to_confirm_a_code(root):
    client = Client()
    password_login(client, root)  # before TOTP was on, so no code was asked
    secret = totp_enable(root)
    response = follow_to_admin(client)
    assert path_and_next(response) == (reverse("mfa_reauthenticate"), ADMIN)
    confirmed = client.post(response["Location"], {"code": current_code(secret)})
    assert confirmed["Location"] == ADMIN
    assert client.get(ADMIN).status_code == 200


@pytest.mark.django_db
def test_a_forced_password_only_session_of_staff_with_totp_gets_no_admin(root):
    totp_enable(root)
    client = Client()
    client.force_login(root, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get(ADMIN).status_code == 302
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 302


@pytest.mark.django_db
def test_turning_totp_on_through_its_page_opens_the_admin(root):
    client = Client()
    password_login(client, root)
    page = open_totp_activation(client)
    assert page.status_code == 200
    secret = page.context["form"].secret
    assert page.context["totp_svg_data_uri"].startswith("data:image/svg+xml;base64,")
    done = client.post(reverse("mfa_activate_totp"), {"code": current_code(secret)})
    assert done["Location"] == reverse("mfa_view_recovery_codes")
    codes_page = client.get(done["Location"])
    assert len(codes_page.context["unused_codes"]) == 10
    assert client.get(ADMIN).status_code == 200


@pytest.mark.django_db
def test_a_recovery_code_logs_staff_in_once(root):
    totp_enable(root)
    code = RecoveryCodes.activate(root).get_unused_codes()[0]
    client = Client()
    password_login(client, root)
    client.post(reverse("mfa_authenticate"), {"code": code})
    assert client.get(ADMIN).status_code == 200

    again = Client()
    password_login(again, root)
    refused = again.post(reverse("mfa_authenticate"), {"code": code})
    assert refused.status_code == 200 and "Incorrect code." in refused.content.decode()
    assert again.get(ADMIN).status_code == 302


@pytest.mark.django_db
def test_a_code_cannot_be_replayed(root):
    secret = totp_enable(root)
    code = current_code(secret)
    first = Client()
    password_login(first, root)
    assert first.post(reverse("mfa_authenticate"), {"code": code}).status_code == 302
    second = Client()
    password_login(second, root)
    replay = second.post(reverse("mfa_authenticate"), {"code": code})
    assert replay.status_code == 200 and "Incorrect code." in replay.content.decode()


@pytest.mark.django_db
def test_guessing_codes_is_throttled(root):
    secret = totp_enable(root)
    client = Client()
    password_login(client, root)
    for guess in ("111111", "222222", "333333", "444444", "555555"):
        client.post(reverse("mfa_authenticate"), {"code": guess})
    locked = client.post(reverse("mfa_authenticate"), {"code": current_code(secret)})
    assert "Too many failed login attempts" in locked.content.decode()
    assert client.get(ADMIN).status_code == 302


@pytest.mark.django_db
def test_a_logged_in_user_who_is_not_staff_sees_a_clear_no(alice_client):
    response = follow_to_admin(alice_client)
    assert response.status_code == 403
    assert "not a staff account" in response.content.decode()


@pytest.mark.django_db
def test_an_ordinary_user_may_turn_totp_on_and_is_then_asked_for_codes(alice):
    client = Client()
    password_login(client, alice)
    page = open_totp_activation(client)
    secret = page.context["form"].secret
    client.post(reverse("mfa_activate_totp"), {"code": current_code(secret)})
    assert "Two-Factor Authentication" in client.get(reverse("mfa_index")).content.decode()

    fresh = Client()
    step = fresh.post(reverse("account_login"), {"login": "alice", "password": PASSWORD})
    assert step["Location"] == reverse("mfa_authenticate")


@pytest.mark.django_db
def test_ordinary_users_are_not_forced_into_two_factor(alice):
    client = Client()
    password_login(client, alice)
    assert client.get(reverse("captions:photo_upload")).status_code == 200


@pytest.mark.django_db
def test_turning_totp_off_closes_the_admin_to_that_session(root):
    client = Client()
    secret = totp_enable(root)
    log_in_with_totp(client, root, secret)
    assert client.get(ADMIN).status_code == 200
    root.authenticator_set.all().delete()
    assert client.get(ADMIN).status_code == 302
