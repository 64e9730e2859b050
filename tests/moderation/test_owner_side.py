"""What moderation looks like to a photo's owner: a hidden photo, reporting a result."""

import pytest
from django.urls import reverse

from captions.models import Generation, Photo, Report
from captions.services.moderation import photos_hide, photos_restore
from tests.moderation.conftest import finished_generation, stored_photo

OPTIONS = {"platform": "instagram", "tone": "casual", "variants": 3, "language": "en"}


@pytest.fixture
def photo(alice):
    photo = stored_photo(alice)
    finished_generation(photo)
    return photo


@pytest.fixture
def hidden(photo, moderator):
    photos_hide(photo_ids=[photo.pk], actor=moderator, reason="Not allowed here")
    photo.refresh_from_db()
    return photo


def urls(photo) -> dict[str, str]:
    kw = {"uuid": photo.uuid}
    return {
        name: reverse(f"captions:{name}", kwargs=kw)
        for name in (
            "photo_detail",
            "photo_status",
            "photo_image",
            "photo_thumbnail",
            "photo_regenerate",
            "photo_report",
        )
    }


@pytest.mark.django_db
def test_owner_sees_removed_by_a_moderator_in_place_of_photo_and_results(alice_client, hidden):
    page = alice_client.get(urls(hidden)["photo_detail"]).content.decode()
    assert "Removed by a moderator" in page and "Not allowed here" in page
    for gone in ("Nap time, serious business", "#naptime", "a cat lying on a red blanket", "Copy caption"):
        assert gone not in page
    assert urls(hidden)["photo_thumbnail"] not in page and urls(hidden)["photo_image"] not in page
    assert 'name="reason"' not in page  # no report form
    assert urls(hidden)["photo_regenerate"] not in page


@pytest.mark.django_db
def test_live_status_part_of_a_hidden_photo_shows_no_results(alice_client, hidden):
    part = alice_client.get(urls(hidden)["photo_status"]).content.decode()
    assert 'data-status="hidden"' in part and "Removed by a moderator" in part
    assert "Nap time" not in part and "hx-get" not in part


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["photo_image", "photo_thumbnail"])
def test_owner_gets_404_for_the_files_of_a_hidden_photo(alice_client, hidden, kind):
    assert alice_client.get(urls(hidden)[kind]).status_code == 404


@pytest.mark.django_db
def test_hidden_photo_is_a_removed_tile_in_the_history(alice_client, hidden):
    page = alice_client.get(reverse("captions:photo_list")).content.decode()
    assert "Removed by a moderator" in page
    assert urls(hidden)["photo_thumbnail"] not in page


@pytest.mark.django_db
def test_owner_cannot_regenerate_report_or_favourite_on_a_hidden_photo(alice_client, hidden):
    jobs = Generation.objects.count()
    response = alice_client.post(urls(hidden)["photo_regenerate"], OPTIONS, follow=True)
    assert "This photo was removed by a moderator." in response.content.decode()
    assert Generation.objects.count() == jobs
    response = alice_client.post(urls(hidden)["photo_report"], {"reason": "wrong"}, follow=True)
    assert "This photo was removed by a moderator." in response.content.decode()
    assert not Report.objects.exists()
    suggestion = hidden.generations.get().suggestions.first()
    response = alice_client.post(
        reverse("captions:suggestion_favourite", args=[suggestion.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 302
    suggestion.refresh_from_db()
    assert not suggestion.is_favourite


@pytest.mark.django_db
def test_restored_photo_is_back_for_its_owner(alice_client, hidden, moderator):
    photos_restore(photo_ids=[hidden.pk], actor=moderator)
    page = alice_client.get(urls(hidden)["photo_detail"]).content.decode()
    assert "Removed by a moderator" not in page and "Nap time, serious business" in page
    assert alice_client.get(urls(hidden)["photo_thumbnail"]).status_code == 200


# Reports -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_photo_page_offers_the_report_form_for_a_finished_result(alice_client, photo):
    page = alice_client.get(urls(photo)["photo_detail"]).content.decode()
    assert urls(photo)["photo_report"] in page and "Report a wrong or offensive result" in page


@pytest.mark.django_db
def test_owner_reports_a_result_and_it_goes_into_the_queue(alice_client, alice, photo, moderator_client):
    response = alice_client.post(
        urls(photo)["photo_report"], {"reason": "offensive", "note": "a rude hashtag"}, follow=True
    )
    assert "a moderator will look at this result" in response.content.decode()
    report = Report.objects.get()
    assert (report.photo, report.reporter, report.reason, report.note) == (
        photo,
        alice,
        "offensive",
        "a rude hashtag",
    )
    assert report.generation == photo.generations.get()
    photo.refresh_from_db()
    assert photo.flagged_at is not None
    assert photo.flag_reasons == ["Reported by its owner as offensive: a rude hashtag"]
    queue = moderator_client.get(reverse("admin:captions_moderationqueueitem_changelist")).content.decode()
    assert f"/moderationqueueitem/{photo.pk}/change/" in queue and "a rude hashtag" in queue


@pytest.mark.django_db
def test_report_without_a_reason_is_refused_with_a_message(alice_client, photo):
    response = alice_client.post(urls(photo)["photo_report"], {"note": "hm"}, follow=True)
    assert "Choose why you are reporting this result." in response.content.decode()
    assert not Report.objects.exists()
    assert Photo.objects.get(pk=photo.pk).flagged_at is None


@pytest.mark.django_db
def test_other_user_cannot_report_someone_elses_photo(bob_client, photo):
    assert bob_client.post(urls(photo)["photo_report"], {"reason": "wrong"}).status_code == 404
    assert not Report.objects.exists()


@pytest.mark.django_db
def test_anonymous_visitor_is_sent_to_log_in_to_report(client, photo):
    response = client.post(urls(photo)["photo_report"], {"reason": "wrong"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not Report.objects.exists()


@pytest.mark.django_db
def test_report_is_only_accepted_by_post(alice_client, photo):
    assert alice_client.get(urls(photo)["photo_report"]).status_code == 405
