"""Input that used to reach the database or a library unchecked, sent as an attacker would:
overlong usernames and addresses, and NUL or other control characters in every text input of
every form and in query strings. Each is refused with a page that says why, and changes nothing."""

import pytest
from axes.models import AccessAttempt, AccessLog
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from captions.models import BannedHashtag, Generation, ModerationAction, Photo, Report
from tests import images
from tests.factories import PASSWORD, GenerationFactory, photo_for

NUL = "\x00"
OPTIONS = {"platform": "instagram", "tone": "casual", "variants": "3", "language": "en"}


def counts() -> dict[str, int]:
    models = (get_user_model(), Photo, Generation, Report, BannedHashtag, ModerationAction, AccessAttempt)
    return {model.__name__: model.objects.count() for model in models}


def assert_refused(response, *, says: str = "control character"):
    assert response.status_code == 400, response.content.decode()[:500]
    page = response.content.decode()
    assert "This request was refused" in page
    assert says in page


# Finding 1: a username of 256+ characters was a 500 on both login pages


@pytest.mark.django_db
@pytest.mark.parametrize("length", [255, 256, 300, 4096])
def test_overlong_username_on_the_login_page_is_a_form_error_not_a_500(alice, length):
    before = counts()
    response = Client().post(reverse("login"), {"login": "a" * length, "password": "x"})
    assert response.status_code == 200
    assert "at most 254 characters" in response.content.decode()
    assert counts() == before  # axes never saw it: no attempt row
    assert not AccessLog.objects.exists()


@pytest.mark.django_db
def test_overlong_username_at_admin_login_is_sent_to_the_site_login(alice):
    before = counts()
    response = Client().post(reverse("admin:login"), {"username": "a" * 300, "password": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert counts() == before


@pytest.mark.django_db
def test_a_field_longer_than_any_form_takes_is_refused_before_any_form_sees_it():
    response = Client().post(reverse("login"), {"login": "a" * 5000, "password": "x"})
    assert_refused(response, says="5,000 characters long")


@pytest.mark.django_db
def test_overlong_email_is_a_form_error_on_sign_up_and_reset():
    email = "a" * 250 + "@example.com"
    before = counts()
    signup = Client().post(
        reverse("signup"), {"username": "carol", "email": email, "password1": PASSWORD, "password2": PASSWORD}
    )
    assert signup.status_code == 200 and "email" in signup.context["form"].errors
    reset = Client().post(reverse("password_reset"), {"email": email})
    assert reset.status_code == 200 and "email" in reset.context["form"].errors
    assert counts() == before


# Finding 2: GET /?q=%00 was a 500 (PostgreSQL refuses NUL in text)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query", ["q=%00", "q=cat%00", "status=%00", "page=%00", "q=%01", "q=%7F", "q=%C2%85", "next=%00"]
)
def test_control_characters_in_the_history_query_string_are_refused(alice_client, query):
    response = alice_client.get(f"{reverse('captions:photo_list')}?{query}")
    assert_refused(response)


@pytest.mark.django_db
def test_a_control_character_in_a_field_name_or_path_is_refused(alice_client):
    assert_refused(alice_client.get(reverse("captions:photo_list") + "?q%00=cat"))
    assert alice_client.get("/photos/%00/").status_code in (400, 404)


@pytest.mark.django_db
def test_tabs_and_line_breaks_still_pass(alice_client):
    assert alice_client.get(reverse("captions:photo_list") + "?q=%09cat%0A").status_code == 200


@pytest.fixture
def photo(alice):
    photo = photo_for(alice)
    GenerationFactory(photo=photo)
    return photo


def forms_for(photo) -> list[tuple[str, str, dict]]:
    """(who, url, data) for every form of the site a visitor or a user fills in."""
    per_photo = {"uuid": photo.uuid}
    return [
        ("anon", reverse("login"), {"login": "alice", "password": PASSWORD}),
        (
            "anon",
            reverse("signup"),
            {"username": "carol", "email": "c@example.com", "password1": PASSWORD, "password2": PASSWORD},
        ),
        ("anon", reverse("password_reset"), {"email": "alice@example.com"}),
        (
            "alice",
            reverse("password_change"),
            {"oldpassword": PASSWORD, "password1": "n" * 12, "password2": "n" * 12},
        ),
        ("alice", reverse("account_email"), {"email": "new@example.com", "action_add": ""}),
        ("alice", reverse("captions:photo_upload"), dict(OPTIONS)),
        ("alice", reverse("captions:photo_regenerate", kwargs=per_photo), dict(OPTIONS)),
        ("alice", reverse("captions:photo_report", kwargs=per_photo), {"reason": "wrong", "note": "meh"}),
        ("alice", reverse("captions:photo_delete", kwargs=per_photo), {"confirm": "yes"}),
    ]


def every_field(photo):
    for who, url, data in forms_for(photo):
        for field in data:
            yield who, url, data, field


@pytest.mark.django_db
def test_nul_in_every_field_of_every_form_is_refused_and_changes_nothing(alice, photo):
    clients = {"anon": Client(), "alice": Client()}
    clients["alice"].force_login(alice, backend="django.contrib.auth.backends.ModelBackend")
    cases = list(every_field(photo))
    assert len(cases) >= 20
    before = counts()
    for who, url, data, field in cases:
        for bad in (NUL, "\x1b", "\x08"):
            value = f"{data[field]}{bad}x"
            response = clients[who].post(url, {**data, field: value})
            assert response.status_code == 400, (url, field)
            assert "control character" in response.content.decode(), (url, field)
    assert counts() == before
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


@pytest.mark.django_db
def test_nul_in_an_uploaded_file_name_is_refused_and_nothing_is_stored(alice_client, _media_root):
    upload = SimpleUploadedFile("cat\x00.jpg", images.jpeg(size=(32, 32)), content_type="image/jpeg")
    response = alice_client.post(reverse("captions:photo_upload"), {**OPTIONS, "photos": upload})
    assert response.status_code in (302, 400)
    if response.status_code == 400:
        assert "control character" in response.content.decode()
    else:  # Django's parser may have cut the name at the NUL already: then nothing of it is kept.
        assert "\x00" not in Photo.objects.get().original_name


@pytest.mark.django_db
def test_nul_in_the_admin_search_and_forms_is_refused(moderator_client):
    before = counts()
    for url in (reverse("admin:captions_photo_changelist"), reverse("admin:auth_user_changelist")):
        assert_refused(moderator_client.get(url + "?q=%00"))
    add = reverse("admin:captions_bannedhashtag_add")
    assert_refused(moderator_client.post(add, {"text": "spam\x00", "kind": "exact", "note": ""}))
    assert_refused(moderator_client.post(add, {"text": "spam", "kind": "exact", "note": "x\x00"}))
    assert counts() == before
