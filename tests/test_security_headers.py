"""Browser security headers on every kind of page: a strict Content-Security-Policy, a
Permissions-Policy, and no caching of pages that hold someone's private data."""

import re

import pytest
from django.urls import reverse

from tests.factories import photo_for


def csp(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.fixture
def pages(alice):
    photo = photo_for(alice)
    return [
        reverse("captions:photo_list"),
        reverse("captions:photo_upload"),
        reverse("captions:photo_detail", kwargs={"uuid": photo.uuid}),
        reverse("captions:photo_status", kwargs={"uuid": photo.uuid}),
        reverse("account_email"),
        reverse("account_change_password"),
        reverse("mfa_index"),
    ]


@pytest.mark.django_db
def test_every_page_has_a_strict_content_security_policy(alice_client, anon_client, pages):
    public = [reverse("login"), reverse("signup"), reverse("password_reset")]
    for client, urls in ((alice_client, pages), (anon_client, public)):
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            policy = csp(response)
            assert policy["default-src"] == ["'self'"], url
            assert policy["script-src"] == ["'self'"], url  # no inline script, no eval
            assert policy["style-src"] == ["'self'"], url
            assert policy["frame-ancestors"] == ["'none'"], url
            assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"], url
            assert policy["form-action"] == ["'self'"], url
            assert "unsafe-inline" not in response["Content-Security-Policy"], url


@pytest.mark.django_db
def test_pages_carry_no_inline_script_or_event_handler(alice_client, pages):
    for url in pages:
        html = alice_client.get(url).content.decode()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (url, tag)
        assert not re.search(r"\son[a-z]+=", html), url
        assert " style=" not in html, url


@pytest.mark.django_db
def test_admin_pages_have_the_policy_too(moderator_client):
    response = moderator_client.get(reverse("admin:captions_photo_changelist"))
    assert response.status_code == 200
    assert csp(response)["script-src"] == ["'self'"]


@pytest.mark.django_db
def test_permissions_policy_turns_off_what_the_site_never_uses(anon_client):
    header = anon_client.get(reverse("login"))["Permissions-Policy"]
    features = dict(part.strip().split("=", 1) for part in header.split(","))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert features[feature] == "()", feature
    assert features["clipboard-write"] == "(self)"  # the copy buttons


@pytest.mark.django_db
def test_private_pages_are_not_stored_by_any_cache(alice_client, pages):
    for url in pages:
        response = alice_client.get(url)
        directives = {d.strip() for d in response["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= directives, url


@pytest.mark.django_db
def test_photo_files_stay_private_with_their_own_short_cache(alice_client, alice):
    photo = photo_for(alice)
    response = alice_client.get(reverse("captions:photo_thumbnail", kwargs={"uuid": photo.uuid}))
    assert response["Cache-Control"] == "private, max-age=300"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


@pytest.mark.django_db
def test_the_refusal_page_for_bad_input_is_not_stored_either(alice_client):
    response = alice_client.get(reverse("captions:photo_list") + "?q=%00")
    assert response.status_code == 400
    assert "no-store" in response["Cache-Control"]
    assert csp(response)["script-src"] == ["'self'"]
