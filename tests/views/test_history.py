"""The history page: a person's photos, newest first, searchable, with each photo's job status."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from captions.models import Generation, Photo
from tests.factories import GenerationFactory, ModelCaptionFactory, SuggestionFactory, photo_for

HISTORY = reverse("captions:photo_list")


def photos_made(owner, count: int) -> list[Photo]:
    """``count`` photos, the first one oldest, each a minute after the one before."""
    start = timezone.now() - timedelta(days=1)
    made = []
    for i in range(count):
        photo = photo_for(owner, name=f"photo-{i:02d}.jpg", color=(i * 7 % 256, i * 13 % 256, i * 29 % 256))
        Photo.objects.filter(pk=photo.pk).update(created_at=start + timedelta(minutes=i))
        made.append(photo)
    return made


def shown(response) -> list[str]:
    """The names of the photos on the page, in order."""
    return [photo.original_name for photo in response.context["page"].object_list]


def search(client, **params) -> list[str]:
    response = client.get(HISTORY, params)
    assert response.status_code == 200
    return sorted(shown(response))


@pytest.fixture
def beach(alice):
    """A photo whose job produced a caption, a suggestion and hashtags."""
    photo = photo_for(alice, name="IMG_2041.jpg", color=(10, 20, 30))
    generation = GenerationFactory(photo=photo)
    ModelCaptionFactory(generation=generation, source="blip", text="a golden retriever on the sand")
    ModelCaptionFactory(generation=generation, source="vit_gpt2", text="a dog standing near the ocean")
    SuggestionFactory(
        generation=generation, caption="Zoomies at sunset", hashtags=["#GoldenHour", "#dogsofinsta"]
    )
    return photo


@pytest.fixture
def city(alice):
    photo = photo_for(alice, name="skyline.png", color=(200, 200, 210))
    generation = GenerationFactory(photo=photo)
    ModelCaptionFactory(generation=generation, source="blip", text="tall buildings at night")
    SuggestionFactory(generation=generation, caption="Neon never sleeps", hashtags=["#citylights"])
    return photo


# Order and pages


@pytest.mark.django_db
def test_newest_photo_comes_first(alice_client, alice):
    photos_made(alice, 3)
    assert shown(alice_client.get(HISTORY)) == ["photo-02.jpg", "photo-01.jpg", "photo-00.jpg"]


@pytest.mark.django_db
def test_history_shows_twelve_a_page_and_the_rest_on_page_two(alice_client, alice):
    photos_made(alice, 14)
    first = alice_client.get(HISTORY)
    assert shown(first) == [f"photo-{i:02d}.jpg" for i in range(13, 1, -1)]
    assert "Page 1 of 2" in first.content.decode()
    assert 'href="?page=2&amp;q=&amp;status="' in first.content.decode()

    second = alice_client.get(HISTORY, {"page": 2})
    assert shown(second) == ["photo-01.jpg", "photo-00.jpg"]
    assert "Page 2 of 2" in second.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["99", "-1", "abc"])
def test_a_page_out_of_range_or_not_a_number_shows_a_real_page(alice_client, alice, page):
    photos_made(alice, 14)
    response = alice_client.get(HISTORY, {"page": page})
    assert response.status_code == 200
    expected = 1 if page == "abc" else 2
    assert response.context["page"].number == expected


@pytest.mark.django_db
def test_page_links_keep_the_search(alice_client, alice):
    photos_made(alice, 13)
    for photo in Photo.objects.all():
        GenerationFactory(photo=photo, status=Generation.Status.DONE)
    page = alice_client.get(HISTORY, {"q": "Photo-", "status": "done"}).content.decode()
    assert 'href="?page=2&amp;q=Photo-&amp;status=done"' in page


# What each tile shows


@pytest.mark.django_db
def test_thumbnails_come_from_the_private_media_view(alice_client, alice, settings):
    photo = photo_for(alice)
    page = alice_client.get(HISTORY).content.decode()
    thumbnail = reverse("captions:photo_thumbnail", kwargs={"uuid": photo.uuid})
    sources = re.findall(r'<img[^>]* src="([^"]+)"', page)
    assert sources == [thumbnail]
    assert "/media/" not in page
    assert settings.MEDIA_URL not in page
    assert photo.thumbnail.name not in page
    assert alice_client.get(thumbnail).status_code == 200


@pytest.mark.django_db
def test_each_tile_links_to_its_photo_page(alice_client, alice):
    photo = photo_for(alice)
    page = alice_client.get(HISTORY).content.decode()
    assert f'href="{reverse("captions:photo_detail", kwargs={"uuid": photo.uuid})}"' in page


@pytest.mark.django_db
def test_each_photo_shows_the_status_of_its_latest_job(alice_client, alice):
    older, newer, _ = photos_made(alice, 3)
    earlier = GenerationFactory(photo=older, status=Generation.Status.DONE)
    GenerationFactory(photo=older, status=Generation.Status.CAPTIONING)
    Generation.objects.filter(pk=earlier.pk).update(created_at=timezone.now() - timedelta(hours=1))
    GenerationFactory(photo=newer, status=Generation.Status.FAILED)

    page = alice_client.get(HISTORY).content.decode()
    tiles = dict(
        re.findall(
            r'<span class="name">([^<]+)</span>\s*</a>\s*<span class="tile-meta">\s*'
            r'<span class="status status-(\w+)"',
            page,
        )
    )
    assert tiles == {"photo-00.jpg": "captioning", "photo-01.jpg": "failed", "photo-02.jpg": "none"}
    assert '<span class="status status-captioning">Captioning</span>' in page
    assert '<span class="status status-failed">Failed</span>' in page
    assert '<span class="status status-none">No job</span>' in page


@pytest.mark.django_db
def test_status_reads_the_same_as_on_the_photo_page(alice_client, alice):
    GenerationFactory(photo=photo_for(alice), status=Generation.Status.REFINING)
    assert (
        '<span class="status status-refining">Writing hashtags</span>'
        in alice_client.get(HISTORY).content.decode()
    )


@pytest.mark.django_db
def test_history_needs_a_fixed_number_of_queries(alice_client, alice, django_assert_max_num_queries):
    for photo in photos_made(alice, 12):
        GenerationFactory(photo=photo)
    with django_assert_max_num_queries(8):
        alice_client.get(HISTORY)


# Search


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        "golden retriever",
        "GOLDEN RETRIEVER",
        "near the ocean",
        "zoomies",
        "#goldenhour",
        "goldenhour",
        "#DogsOfInsta",
    ],
    ids=["blip", "case", "vit-gpt2", "suggestion", "hashtag", "hashtag-without-hash", "hashtag-case"],
)
def test_search_finds_a_photo_by_what_was_written_about_it(alice_client, beach, city, query):
    assert search(alice_client, q=query) == ["IMG_2041.jpg"]


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["IMG_2041", "img_2041.JPG", "skyline"])
def test_search_finds_a_photo_by_its_file_name(alice_client, beach, city, query):
    expected = "skyline.png" if query == "skyline" else "IMG_2041.jpg"
    assert search(alice_client, q=query) == [expected]


@pytest.mark.django_db
def test_search_for_a_common_word_lists_each_photo_once(alice_client, alice, beach, city):
    # "a" is in several captions of each photo and in both suggestions.
    assert search(alice_client, q="a") == ["IMG_2041.jpg", "skyline.png"]


@pytest.mark.django_db
def test_search_only_ever_finds_my_own_photos(alice_client, bob_client, bob, beach):
    theirs = photo_for(bob, name="IMG_2041.jpg", color=(10, 20, 30))
    generation = GenerationFactory(photo=theirs)
    ModelCaptionFactory(generation=generation, text="a golden retriever on the sand")
    SuggestionFactory(generation=generation, hashtags=["#GoldenHour"])

    for query in ("golden", "#goldenhour", "IMG_2041", "Zoomies"):
        response = bob_client.get(HISTORY, {"q": query})
        found = list(response.context["page"].object_list)
        assert all(photo.owner == bob for photo in found), query
        assert str(beach.uuid) not in response.content.decode(), query
    assert search(bob_client, q="zoomies") == []


@pytest.mark.django_db
def test_search_with_like_wildcards_matches_them_literally(alice_client, beach, city):
    assert search(alice_client, q="%") == []
    assert search(alice_client, q="_") == ["IMG_2041.jpg"]  # Only the file name has one.


@pytest.mark.django_db
def test_search_box_keeps_the_query_escaped(alice_client, beach):
    page = alice_client.get(HISTORY, {"q": '"><script>alert(1)</script>'}).content.decode()
    assert "<script>alert(1)" not in page
    assert 'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in page


# Status filter


@pytest.mark.django_db
def test_filter_by_status_uses_the_latest_job(alice_client, alice, beach, city):
    GenerationFactory(photo=city, status=Generation.Status.FAILED)  # Newer than its done job.
    assert search(alice_client, status="done") == ["IMG_2041.jpg"]
    assert search(alice_client, status="failed") == ["skyline.png"]
    assert search(alice_client, status="queued") == []


@pytest.mark.django_db
def test_filter_and_search_combine(alice_client, beach, city):
    assert search(alice_client, status="done", q="neon") == ["skyline.png"]
    assert search(alice_client, status="failed", q="neon") == []


@pytest.mark.django_db
def test_unknown_status_is_ignored(alice_client, beach, city):
    response = alice_client.get(HISTORY, {"status": "bogus"})
    assert sorted(shown(response)) == ["IMG_2041.jpg", "skyline.png"]
    assert response.context["status"] == ""


@pytest.mark.django_db
def test_chosen_status_stays_selected(alice_client, beach):
    page = alice_client.get(HISTORY, {"status": "failed"}).content.decode()
    assert '<option value="failed" selected>' in page


# Empty states


@pytest.mark.django_db
def test_new_user_sees_an_invitation_to_upload(alice_client):
    page = alice_client.get(HISTORY).content.decode()
    assert "No photos yet." in page
    assert f'href="{reverse("captions:photo_upload")}"' in page


@pytest.mark.django_db
def test_search_without_matches_says_so_and_offers_all_photos(alice_client, beach):
    page = alice_client.get(HISTORY, {"q": "submarine"}).content.decode()
    assert "No photos match." in page
    assert "No photos yet." not in page
    assert f'<a href="{HISTORY}">Show all</a>' in page


@pytest.mark.django_db
def test_status_filter_without_matches_says_so(alice_client, beach):
    page = alice_client.get(HISTORY, {"status": "held"}).content.decode()
    assert "No photos match." in page
