"""Banning users, their AI switch and daily quota, seen from the admin and from the user's side."""

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from captions.models import AccountStanding, Generation, ModerationAction, Photo
from captions.services.standing import users_ban
from tests import images
from tests.factories import PASSWORD, GenerationFactory, UserFactory
from tests.moderation.conftest import stored_photo

USERS = reverse("admin:auth_user_changelist")
OPTIONS = {"platform": "instagram", "tone": "casual", "variants": 3, "language": "en"}


def ban(client, *users, reason="Spamming", confirm=True):
    data = {"action": "ban_users", "_selected_action": [u.pk for u in users]}
    data |= {"confirm": "yes", "reason": reason} if confirm else {"index": 0}
    return client.post(USERS, data)


def upload(client, color=(10, 20, 30)):
    photo = SimpleUploadedFile("new.jpg", images.jpeg(color=color), content_type="image/jpeg")
    return client.post(reverse("captions:photo_upload"), {**OPTIONS, "photos": [photo]})


@pytest.mark.django_db
def test_ban_asks_for_a_reason_first(moderator_client, alice):
    page = ban(moderator_client, alice, confirm=False).content.decode()
    assert 'name="reason"' in page and "alice" in page
    response = ban(moderator_client, alice, reason="")
    assert "This field is required." in response.content.decode()
    alice.refresh_from_db()
    assert alice.is_active


@pytest.mark.django_db
def test_banned_user_cannot_log_in(moderator_client, alice, client):
    ban(moderator_client, alice)
    response = client.post(reverse("login"), {"login": "alice", "password": PASSWORD})
    assert response["Location"] == reverse("account_inactive")
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("captions:photo_list"))["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_banned_users_open_session_stops_working_and_stays_gone_after_unban(
    moderator_client, alice, alice_client
):
    assert alice_client.get(reverse("captions:photo_list")).status_code == 200
    ban(moderator_client, alice)
    response = alice_client.get(reverse("captions:photo_list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(alice.pk)]
    moderator_client.post(USERS, {"action": "unban_users", "_selected_action": [alice.pk], "confirm": "yes"})
    assert alice_client.get(reverse("captions:photo_list")).status_code == 302


@pytest.mark.django_db
def test_other_users_sessions_survive_a_ban(moderator_client, alice, bob_client):
    ban(moderator_client, alice)
    assert bob_client.get(reverse("captions:photo_list")).status_code == 200


@pytest.mark.django_db
def test_ban_cancels_the_users_jobs_in_flight_only(moderator_client, alice, bob):
    photo = stored_photo(alice)
    statuses = ["queued", "captioning", "refining", "done", "failed", "held"]
    jobs = {s: GenerationFactory(photo=photo, status=s) for s in statuses}
    bobs = GenerationFactory(photo=stored_photo(bob, "coffee"), status="queued")
    ban(moderator_client, alice)
    after = {s: Generation.objects.get(pk=g.pk) for s, g in jobs.items()}
    for status in ("queued", "captioning", "refining"):
        assert after[status].status == "cancelled"
        assert after[status].error == "Cancelled: the account was suspended."
        assert after[status].finished_at is not None
    assert [after[s].status for s in ("done", "failed", "held")] == ["done", "failed", "held"]
    assert Generation.objects.get(pk=bobs.pk).status == "queued"


@pytest.mark.django_db
def test_ban_is_recorded_on_the_account_and_in_the_audit_trail(moderator_client, moderator, alice):
    ban(moderator_client, alice, reason="Posting spam")
    standing = AccountStanding.objects.get(user=alice)
    assert standing.banned_at is not None and standing.ban_reason == "Posting spam"
    record = ModerationAction.objects.get(action="user_ban")
    assert (record.actor, record.target_type, record.target_id, record.reason) == (
        moderator,
        "auth.user",
        str(alice.pk),
        "Posting spam",
    )
    log = LogEntry.objects.get(object_id=str(alice.pk), action_flag=CHANGE)
    assert log.user == moderator and "Posting spam" in log.get_change_message()
    page = moderator_client.get(reverse("admin:auth_user_change", args=[alice.pk])).content.decode()
    assert "Posting spam" in page


@pytest.mark.django_db
def test_unban_lets_the_user_log_in_again_and_is_audited(moderator_client, alice, client):
    ban(moderator_client, alice)
    moderator_client.post(
        USERS, {"action": "unban_users", "_selected_action": [alice.pk], "confirm": "yes", "reason": "appeal"}
    )
    alice.refresh_from_db()
    assert alice.is_active
    standing = AccountStanding.objects.get(user=alice)
    assert standing.banned_at is None and standing.ban_reason == ""
    assert ModerationAction.objects.get(action="user_unban").reason == "appeal"
    client.post(reverse("login"), {"login": "alice", "password": PASSWORD})
    assert client.session["_auth_user_id"] == str(alice.pk)


@pytest.mark.django_db
def test_moderator_cannot_ban_themselves_or_a_superuser(moderator, moderator_client):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    ban(moderator_client, moderator, root)
    assert get_user_model().objects.filter(is_active=False).count() == 0
    assert not ModerationAction.objects.exists()
    assert users_ban(user_ids=[moderator.pk], actor=root, reason="rogue moderator") == 1


# AI switch and daily quota ---------------------------------------------------------------


def standing_form(user, **standing):
    """The user change form as the admin posts it, with the standing inline."""
    data = {
        "username": user.username,
        "email": user.email,
        "first_name": "",
        "last_name": "",
        "is_active": "on",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "last_login_0": "",
        "last_login_1": "",
        "standing-TOTAL_FORMS": "1",
        "standing-INITIAL_FORMS": "0",
        "standing-MIN_NUM_FORMS": "0",
        "standing-MAX_NUM_FORMS": "1",
        "standing-0-user": str(user.pk),
        "standing-0-id": "",
    }
    for key, value in standing.items():
        if value is not None:
            data[f"standing-0-{key}"] = value
    return data


@pytest.mark.django_db
def test_moderator_turns_ai_off_and_sets_a_quota_in_the_user_admin_and_it_is_audited(
    moderator_client, moderator, alice
):
    url = reverse("admin:auth_user_change", args=[alice.pk])
    response = moderator_client.post(url, standing_form(alice, daily_quota="5"))  # ai_enabled unticked
    assert response.status_code == 302, response.context["adminform"].form.errors
    standing = AccountStanding.objects.get(user=alice)
    assert standing.ai_enabled is False and standing.daily_quota == 5
    record = ModerationAction.objects.get(action="standing_change")
    assert record.actor == moderator and record.target_id == str(alice.pk)
    assert record.reason == "AI generation off; daily quota 5."
    assert LogEntry.objects.filter(object_id=str(alice.pk), user=moderator).exists()


@pytest.mark.django_db
def test_ai_switch_off_refuses_upload_and_regenerate_with_a_message(alice, alice_client):
    photo = stored_photo(alice)
    AccountStanding.objects.create(user=alice, ai_enabled=False)
    response = upload(alice_client)
    assert response.status_code == 403
    assert "AI generation is turned off for your account." in response.content.decode()
    assert Photo.objects.count() == 1 and Generation.objects.count() == 0
    response = alice_client.post(
        reverse("captions:photo_regenerate", kwargs={"uuid": photo.uuid}), OPTIONS, follow=True
    )
    assert "AI generation is turned off for your account." in response.content.decode()
    assert Generation.objects.count() == 0


@pytest.mark.django_db
def test_daily_quota_refuses_upload_and_regenerate_with_a_message(alice, alice_client, settings):
    settings.DAILY_GENERATION_QUOTA = 2
    photo = stored_photo(alice)
    regenerate = reverse("captions:photo_regenerate", kwargs={"uuid": photo.uuid})
    with_quota_left = upload(alice_client)
    assert with_quota_left.status_code == 302
    alice_client.post(regenerate, OPTIONS)
    assert Generation.objects.count() == 2
    response = upload(alice_client, color=(200, 10, 10))
    assert response.status_code == 403
    message = "Daily limit reached: 2 generations in 24 hours (2 used, 0 left). Try again later."
    assert message in response.content.decode()
    response = alice_client.post(regenerate, OPTIONS, follow=True)
    assert message in response.content.decode()
    assert Generation.objects.count() == 2
    assert Photo.objects.count() == 2


@pytest.mark.django_db
def test_a_users_own_quota_overrides_the_site_default(alice, bob, alice_client, bob_client, settings):
    settings.DAILY_GENERATION_QUOTA = 100
    AccountStanding.objects.create(user=alice, daily_quota=0)
    assert "Daily limit reached: 0 generations" in upload(alice_client).content.decode()
    assert upload(bob_client).status_code == 302
    assert Generation.objects.filter(photo__owner=alice).count() == 0


@pytest.mark.django_db
def test_banned_user_with_the_right_password_is_told_the_account_is_suspended(
    moderator_client, alice, client
):
    ban(moderator_client, alice)

    response = client.post(reverse("login"), {"login": "alice", "password": PASSWORD}, follow=True)

    page = response.content.decode()
    assert "Your account is suspended" in page
    assert "correct" not in page
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_banned_user_with_a_wrong_password_learns_nothing_about_the_ban(moderator_client, alice, client):
    ban(moderator_client, alice)

    banned = client.post(reverse("login"), {"login": "alice", "password": "not the password"}, follow=True)
    unknown = client.post(reverse("login"), {"login": "nobody", "password": "not the password"}, follow=True)

    assert "suspended" not in banned.content.decode()
    assert "are not correct" in banned.content.decode()
    assert banned.status_code == unknown.status_code == 200
