"""History updates its unfinished tiles without a reload: the page polls one endpoint for all of
them, which answers only for the owner's photos and stops the polling once all are final."""

import re

import pytest
from django.urls import reverse

from captions.models import Generation
from tests.factories import GenerationFactory, photo_for

HISTORY = reverse("captions:photo_list")
TILES = reverse("captions:photo_tiles")


def working_photo(owner, name: str, status=Generation.Status.QUEUED):
    photo = photo_for(owner, name=name)
    generation = GenerationFactory(photo=photo, status=status)
    return photo, generation


def poller(page: str) -> str:
    found = re.search(r'<div id="history-poller"[^>]*>', page)
    assert found, page
    return found.group()


@pytest.mark.django_db
def test_history_polls_once_for_all_its_unfinished_tiles(alice, alice_client):
    queued, _ = working_photo(alice, "a.jpg")
    captioning, _ = working_photo(alice, "b.jpg", Generation.Status.CAPTIONING)
    done, _ = working_photo(alice, "c.jpg", Generation.Status.DONE)
    tag = poller(alice_client.get(HISTORY).content.decode())
    assert 'hx-trigger="every 2s"' in tag
    assert f"ids={queued.uuid}" in tag and f"ids={captioning.uuid}" in tag
    assert str(done.uuid) not in tag
    assert tag.count(f"{TILES}?") == 1


@pytest.mark.django_db
def test_history_with_every_job_final_does_not_poll(alice, alice_client):
    working_photo(alice, "a.jpg", Generation.Status.DONE)
    working_photo(alice, "b.jpg", Generation.Status.FAILED)
    tag = poller(alice_client.get(HISTORY).content.decode())
    assert "hx-get" not in tag and "hx-trigger" not in tag


@pytest.mark.django_db
def test_the_tiles_answer_has_each_tile_swapped_by_id_and_keeps_polling_the_unfinished(alice, alice_client):
    first, job = working_photo(alice, "a.jpg")
    second, _ = working_photo(alice, "b.jpg")
    Generation.objects.filter(pk=job.pk).update(status=Generation.Status.DONE)
    response = alice_client.get(TILES, {"ids": [str(first.uuid), str(second.uuid)]})
    assert response.status_code == 200
    page = response.content.decode()
    tile = '<li class="tile" id="tile-{}" data-status="{}" hx-swap-oob="true">'
    assert tile.format(first.uuid, "done") in page
    assert tile.format(second.uuid, "queued") in page
    assert '<span class="status status-done">Done</span>' in page
    tag = poller(page)
    assert 'hx-swap-oob="true"' in tag
    assert f"ids={second.uuid}" in tag and str(first.uuid) not in tag


@pytest.mark.django_db
def test_the_tiles_answer_stops_the_polling_when_all_are_final(alice, alice_client):
    photo, job = working_photo(alice, "a.jpg", Generation.Status.REFINING)
    Generation.objects.filter(pk=job.pk).update(status=Generation.Status.PARTIAL)
    page = alice_client.get(TILES, {"ids": str(photo.uuid)}).content.decode()
    assert 'data-status="partial"' in page
    tag = poller(page)
    assert tag == '<div id="history-poller" hx-swap-oob="true">'


@pytest.mark.django_db
def test_another_users_photos_are_not_in_the_tiles_answer(alice, bob_client):
    photo, _ = working_photo(alice, "a.jpg")
    response = bob_client.get(TILES, {"ids": str(photo.uuid)})
    assert response.status_code == 200
    page = response.content.decode()
    assert str(photo.uuid) not in page and "a.jpg" not in page
    assert "hx-get" not in poller(page)


@pytest.mark.django_db
def test_anonymous_is_sent_to_log_in(alice, client):
    photo, _ = working_photo(alice, "a.jpg")
    response = client.get(TILES, {"ids": str(photo.uuid)})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_malformed_ids_are_ignored(alice, alice_client):
    photo, _ = working_photo(alice, "a.jpg")
    response = alice_client.get(TILES, {"ids": ["nonsense", "", str(photo.uuid)]})
    assert response.status_code == 200
    assert f'id="tile-{photo.uuid}"' in response.content.decode()


@pytest.mark.django_db
def test_only_one_pages_worth_of_ids_is_read(alice, alice_client):
    photos = [working_photo(alice, f"p{i}.jpg")[0] for i in range(14)]
    page = alice_client.get(TILES, {"ids": [str(p.uuid) for p in photos]}).content.decode()
    assert page.count('class="tile"') == 12


@pytest.mark.django_db
def test_empty_history_invites_a_first_upload(alice_client):
    page = alice_client.get(HISTORY).content.decode()
    assert "No photos yet." in page
    assert 'id="history-poller"' not in page


@pytest.mark.django_db
def test_the_skip_link_comes_first_and_leads_to_the_main_content(alice_client):
    page = alice_client.get(HISTORY).content.decode()
    body = page[page.index("<body") :]
    first = re.search(r"<(a|button|input|select|textarea)\b[^>]*>", body).group()
    assert first == '<a class="skip-link" href="#main">'
    assert '<main id="main" tabindex="-1"' in page
    assert '<nav aria-label="Main">' in page
