"""The admin as a moderator reads it: the site's name in the header, the audit trail in
sentences, and counts with proper plurals."""

import pytest
from django.urls import reverse

from captions.models import BannedHashtag
from tests.moderation.conftest import finished_generation, stored_photo
from tests.moderation.test_admin_photos import PHOTOS, run_action

AUDIT = reverse("admin:captions_moderationaction_changelist")


@pytest.mark.django_db
def test_the_admin_header_and_title_name_the_site(moderator_client):
    page = moderator_client.get(reverse("admin:index")).content.decode()

    assert "Django administration" not in page and "Django site admin" not in page
    assert '<a href="/admin/">Image Hashtag Generator</a>' in page
    assert "<title>Site administration | Image Hashtag Generator admin</title>" in page


@pytest.mark.django_db
def test_the_audit_trail_reads_as_sentences(moderator_client, alice):
    photo = stored_photo(alice, "coffee")
    finished_generation(photo)
    run_action(moderator_client, PHOTOS, "hide", [photo], reason="spam link in the photo")
    moderator_client.post(
        reverse("admin:captions_bannedhashtag_add"), {"text": "buyfollowersnow", "kind": "exact", "note": ""}
    )
    assert BannedHashtag.objects.filter(text="buyfollowersnow").exists()

    page = moderator_client.get(AUDIT).content.decode()

    assert "mia hid coffee.jpg: spam link in the photo" in page
    assert "mia added buyfollowersnow to the banned hashtags." in page
    assert "photo_hide" not in page.split('id="changelist-filter"')[0]


@pytest.mark.django_db
def test_the_audit_filter_names_actions_in_words(moderator_client):
    page = moderator_client.get(AUDIT).content.decode()

    assert "Photo hidden" in page and "User banned" in page


@pytest.mark.django_db
@pytest.mark.parametrize(("count", "said"), [(1, "1 photo hidden."), (2, "2 photos hidden.")])
def test_decision_messages_use_proper_plurals(moderator_client, alice, count, said):
    photos = [stored_photo(alice, name) for name in ("cat", "rocket")[:count]]

    response = run_action(moderator_client, PHOTOS, "hide", photos, reason="spam")

    shown = [str(m) for m in moderator_client.get(response["Location"]).context["messages"]]
    assert said in shown
    assert not any("(s)" in m for m in shown)
