"""Photos and the moderation queue in the admin, as a moderator uses them."""

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from captions.models import Generation, ModerationAction, Photo, Report
from captions.services.moderation import photo_flag, report_create
from tests.factories import GenerationFactory
from tests.moderation.conftest import finished_generation, stored_photo

PHOTOS = reverse("admin:captions_photo_changelist")
QUEUE = reverse("admin:captions_moderationqueueitem_changelist")


def run_action(client, changelist, action, photos, reason="", *, confirm=True):
    data = {"action": action, "_selected_action": [p.pk for p in photos]}
    if confirm:
        data |= {"confirm": "yes", "reason": reason}
    else:
        data["index"] = 0  # as sent by the action bar
    return client.post(changelist, data)


def audit_of(photo, action):
    """The audit trail for one photo and action: (LogEntry, ModerationAction)."""
    log = LogEntry.objects.get(
        content_type=ContentType.objects.get_for_model(Photo), object_id=str(photo.pk), action_flag=CHANGE
    )
    record = ModerationAction.objects.get(
        action=action, target_type="captions.photo", target_id=str(photo.pk)
    )
    return log, record


@pytest.fixture
def photo(alice):
    photo = stored_photo(alice)
    finished_generation(photo)
    return photo


@pytest.mark.django_db
def test_photo_list_shows_thumbnail_owner_status_score_and_flags(moderator_client, photo):
    Photo.objects.filter(pk=photo.pk).update(nsfw_score=0.0123)
    photo_flag(photo=photo, reason="test")
    page = moderator_client.get(PHOTOS).content.decode()
    assert reverse("captions:photo_thumbnail", kwargs={"uuid": photo.uuid}) in page
    assert "/private-media-not-served/" not in page and photo.thumbnail.name not in page
    assert "alice" in page and "Done" in page and "0.01" in page and "in queue" in page


@pytest.mark.django_db
def test_staff_see_the_thumbnail_of_any_photo_even_hidden(moderator_client, photo):
    Photo.objects.filter(pk=photo.pk).update(hidden_at=timezone.now())
    response = moderator_client.get(reverse("captions:photo_thumbnail", kwargs={"uuid": photo.uuid}))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["alice", "red blanket", "#naptime", "naptime", "cat.jpg"])
def test_search_finds_photos_by_owner_caption_and_hashtag(moderator_client, photo, bob, query):
    other = stored_photo(bob, "rocket")
    page = moderator_client.get(PHOTOS, {"q": query}).content.decode()
    assert f"/admin/captions/photo/{photo.pk}/change/" in page
    assert f"/admin/captions/photo/{other.pk}/change/" not in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "found"),
    [
        ({"moderation": "queue"}, {"flagged"}),
        ({"moderation": "reported"}, {"flagged"}),
        ({"moderation": "unflagged"}, {"plain", "hidden"}),
        ({"hidden": "yes"}, {"hidden"}),
        ({"hidden": "no"}, {"plain", "flagged"}),
        ({"job_status": "done"}, {"plain"}),
        ({"job_status": "failed"}, {"hidden"}),
        ({"job_status": "none"}, {"flagged"}),
        ({"owner__id__exact": "BOB"}, {"hidden"}),
    ],
)
def test_filters_pick_the_right_photos(moderator_client, photo, alice, bob, params, found):
    flagged = stored_photo(alice, "coffee")
    report_create(photo=flagged, reporter=alice, reason=Report.Reason.OFFENSIVE)
    hidden = stored_photo(bob, "rocket")
    GenerationFactory(photo=hidden, status=Generation.Status.FAILED)
    Photo.objects.filter(pk=hidden.pk).update(hidden_at=timezone.now())
    photos = {"plain": photo, "flagged": flagged, "hidden": hidden}
    params = {k: str(bob.pk) if v == "BOB" else v for k, v in params.items()}
    page = moderator_client.get(PHOTOS, params).content.decode()
    shown = {name for name, p in photos.items() if f"/admin/captions/photo/{p.pk}/change/" in page}
    assert shown == found


@pytest.mark.django_db
def test_date_filter_and_hierarchy_work(moderator_client, photo):
    year = photo.created_at.year
    assert moderator_client.get(PHOTOS, {"created_at__year": year}).status_code == 200
    page = moderator_client.get(PHOTOS, {"created_at__gte": "2000-01-01 00:00:00+00:00"}).content.decode()
    assert f"/admin/captions/photo/{photo.pk}/change/" in page


@pytest.mark.django_db
def test_photo_page_shows_captions_suggestions_reports_and_decision_buttons(moderator_client, photo, alice):
    report_create(photo=photo, reporter=alice, reason=Report.Reason.WRONG, note="it is a dog")
    page = moderator_client.get(reverse("admin:captions_photo_change", args=[photo.pk])).content.decode()
    for text in (
        "a cat lying on a red blanket",
        "Nap time, serious business",
        "#cat #naptime",
        "it is a dog",
    ):
        assert text in page
    assert "Reported by its owner as wrong: it is a dog" in page
    assert reverse("captions:photo_image", kwargs={"uuid": photo.uuid}) in page
    for decision in ("mark_reviewed", "hide", "delete_photos"):
        assert reverse("admin:captions_photo_decide", args=[photo.pk, decision]) in page
    assert 'name="_save"' not in page


@pytest.mark.django_db
def test_hide_asks_for_a_reason_on_a_confirmation_page(moderator_client, photo):
    response = run_action(moderator_client, PHOTOS, "hide", [photo], confirm=False)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="reason"' in page and 'value="hide"' in page and str(photo) in page
    response = run_action(moderator_client, PHOTOS, "hide", [photo], reason="  ")
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    photo.refresh_from_db()
    assert photo.hidden_at is None
    assert not ModerationAction.objects.exists()


@pytest.mark.django_db
def test_hide_hides_the_photo_cancels_its_jobs_and_is_audited(moderator_client, moderator, photo):
    running = GenerationFactory(photo=photo, status=Generation.Status.CAPTIONING)
    response = run_action(moderator_client, PHOTOS, "hide", [photo], reason="Graphic violence")
    assert response.status_code == 302
    photo.refresh_from_db()
    assert photo.is_hidden and photo.hidden_reason == "Graphic violence"
    assert photo.reviewed_by == moderator
    running.refresh_from_db()
    assert running.status == Generation.Status.CANCELLED
    log, record = audit_of(photo, "photo_hide")
    assert log.user == moderator and "Graphic violence" in log.get_change_message()
    assert record.actor == moderator and record.reason == "Graphic violence"
    assert record.target_repr == "cat.jpg"


@pytest.mark.django_db
def test_restore_shows_the_photo_again_with_an_optional_reason(moderator_client, moderator, photo):
    run_action(moderator_client, PHOTOS, "hide", [photo], reason="mistake")
    response = run_action(moderator_client, PHOTOS, "restore", [photo], reason="")
    assert response.status_code == 302
    photo.refresh_from_db()
    assert not photo.is_hidden and photo.hidden_reason == ""
    record = ModerationAction.objects.get(action="photo_restore")
    assert record.actor == moderator and record.reason == ""
    assert LogEntry.objects.filter(object_id=str(photo.pk), change_message="Restored.").exists()


@pytest.mark.django_db
def test_delete_removes_photo_and_files_and_is_audited(
    moderator_client, moderator, photo, _media_root, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(moderator_client, PHOTOS, "delete_photos", [photo], reason="Illegal content")
    assert response.status_code == 302
    assert not Photo.objects.filter(pk=photo.pk).exists()
    assert not Generation.objects.filter(photo_id=photo.pk).exists()
    assert not list(_media_root.rglob("*.jpg"))
    log = LogEntry.objects.get(object_id=str(photo.pk), action_flag=DELETION)
    assert log.user == moderator and "Illegal content" in log.get_change_message()
    record = ModerationAction.objects.get(action="photo_delete")
    assert record.reason == "Illegal content" and record.target_id == str(photo.pk)


@pytest.mark.django_db
def test_the_admins_delete_page_goes_through_the_reasoned_delete(moderator_client, photo):
    response = moderator_client.get(reverse("admin:captions_photo_delete", args=[photo.pk]))
    assert response["Location"] == reverse("admin:captions_photo_decide", args=[photo.pk, "delete_photos"])
    assert "delete_selected" not in moderator_client.get(PHOTOS).content.decode()


@pytest.mark.django_db
def test_decision_button_on_the_photo_page_applies_to_that_photo(moderator_client, moderator, photo, alice):
    other = stored_photo(alice, "coffee")
    url = reverse("admin:captions_photo_decide", args=[photo.pk, "hide"])
    page = moderator_client.get(url).content.decode()
    assert 'name="reason"' in page and str(photo) in page
    response = moderator_client.post(url, {"confirm": "yes", "reason": "Spam"})
    assert response["Location"] == reverse("admin:captions_photo_change", args=[photo.pk])
    photo.refresh_from_db()
    other.refresh_from_db()
    assert photo.is_hidden and not other.is_hidden
    assert audit_of(photo, "photo_hide")[1].reason == "Spam"


@pytest.mark.django_db
def test_unknown_decision_is_404(moderator_client, photo):
    assert (
        moderator_client.get(reverse("admin:captions_photo_decide", args=[photo.pk, "nuke"])).status_code
        == 404
    )


# The queue -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_queue_lists_flagged_and_reported_photos_oldest_first_with_why(moderator_client, alice, bob):
    fine = stored_photo(alice, "rocket")
    reported = stored_photo(alice, "coffee")
    flagged = stored_photo(bob, "cat")
    photo_flag(photo=flagged, reason="NSFW score 0.91 (threshold 0.80)")
    report_create(photo=reported, reporter=alice, reason=Report.Reason.OFFENSIVE, note="rude hashtags")
    page = moderator_client.get(QUEUE).content.decode()
    assert page.index(f"/moderationqueueitem/{flagged.pk}/change/") < page.index(
        f"/moderationqueueitem/{reported.pk}/change/"
    )
    assert f"/moderationqueueitem/{fine.pk}/change/" not in page
    assert "NSFW score 0.91 (threshold 0.80)" in page
    assert "Reported by its owner as offensive: rude hashtags" in page and "1 report by the owner" in page


@pytest.mark.django_db
@pytest.mark.parametrize(("action", "reason"), [("mark_reviewed", ""), ("hide", "Nudity")])
def test_marking_reviewed_or_hiding_takes_a_photo_off_the_queue(moderator_client, alice, action, reason):
    first, second = stored_photo(alice, "cat"), stored_photo(alice, "coffee")
    for photo in (first, second):
        photo_flag(photo=photo, reason="test")
    response = run_action(moderator_client, QUEUE, action, [first], reason=reason)
    assert response.status_code == 302
    page = moderator_client.get(QUEUE).content.decode()
    assert f"/moderationqueueitem/{first.pk}/change/" not in page
    assert f"/moderationqueueitem/{second.pk}/change/" in page
    record = ModerationAction.objects.get()
    assert record.target_id == str(first.pk) and record.reason == reason
    assert LogEntry.objects.get().content_type == ContentType.objects.get_for_model(Photo)


@pytest.mark.django_db
def test_a_reviewed_photo_flagged_again_goes_to_the_end_of_the_queue(moderator_client, alice, moderator):
    early, later = stored_photo(alice, "cat"), stored_photo(alice, "coffee")
    photo_flag(photo=early, reason="first")
    photo_flag(photo=later, reason="second")
    run_action(moderator_client, QUEUE, "mark_reviewed", [early])
    photo_flag(photo=early, reason="again")
    page = moderator_client.get(QUEUE).content.decode()
    assert page.index(f"/moderationqueueitem/{later.pk}/change/") < page.index(
        f"/moderationqueueitem/{early.pk}/change/"
    )
    early.refresh_from_db()
    assert early.flag_reasons == ["first", "again"]


@pytest.mark.django_db
def test_deciding_from_a_queue_item_page_returns_to_the_queue(moderator_client, alice):
    photo = stored_photo(alice)
    photo_flag(photo=photo, reason="test")
    url = reverse("admin:captions_moderationqueueitem_decide", args=[photo.pk, "mark_reviewed"])
    response = moderator_client.post(url, {"confirm": "yes", "reason": "looks fine"})
    assert response["Location"] == QUEUE
    assert ModerationAction.objects.get().reason == "looks fine"


@pytest.mark.django_db
def test_every_decision_leaves_a_log_entry_and_a_moderation_action(moderator_client, moderator, alice):
    photos = [stored_photo(alice, name) for name in ("cat", "coffee", "rocket")]
    for photo in photos:
        photo_flag(photo=photo, reason="test")
    run_action(moderator_client, QUEUE, "mark_reviewed", photos[:1], reason="ok")
    run_action(moderator_client, PHOTOS, "hide", photos[1:], reason="spam")
    run_action(moderator_client, PHOTOS, "restore", photos[1:2], reason="appeal")
    run_action(moderator_client, PHOTOS, "delete_photos", photos[2:], reason="illegal")
    actions = sorted(ModerationAction.objects.values_list("action", "target_id", "reason", "actor__username"))
    assert actions == sorted(
        [
            ("photo_review", str(photos[0].pk), "ok", "mia"),
            ("photo_hide", str(photos[1].pk), "spam", "mia"),
            ("photo_hide", str(photos[2].pk), "spam", "mia"),
            ("photo_restore", str(photos[1].pk), "appeal", "mia"),
            ("photo_delete", str(photos[2].pk), "illegal", "mia"),
        ]
    )
    assert LogEntry.objects.filter(user=moderator).count() == 5
    page = moderator_client.get(reverse("admin:captions_moderationaction_changelist")).content.decode()
    assert "appeal" in page and "illegal" in page


@pytest.mark.django_db
def test_moderator_without_delete_permission_is_not_offered_delete(moderator, moderator_client, photo):
    moderator.groups.clear()
    moderator.user_permissions.set(
        Permission.objects.filter(content_type__app_label="captions").exclude(codename="delete_photo")
    )
    assert "delete_photos" not in moderator_client.get(PHOTOS).content.decode()
    url = reverse("admin:captions_photo_decide", args=[photo.pk, "delete_photos"])
    assert moderator_client.post(url, {"confirm": "yes", "reason": "x"}).status_code == 403
    assert Photo.objects.filter(pk=photo.pk).exists()
