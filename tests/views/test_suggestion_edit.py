"""Saving an edited variant: owner only, checked against the run's platform, nothing saved on bad input."""

import pytest
from django.urls import reverse

from captions.models import BannedHashtag, Suggestion
from tests.factories import GenerationFactory, SuggestionFactory, photo_for


def edit_url(suggestion) -> str:
    return reverse("captions:suggestion_edit", kwargs={"pk": suggestion.pk})


@pytest.fixture
def variant(alice):
    run = GenerationFactory(photo=photo_for(alice, name="cat.jpg"), platform="x")
    return SuggestionFactory(generation=run, position=0, caption="A cat", hashtags=["#cat"])


def unchanged(variant) -> bool:
    fresh = Suggestion.objects.get(pk=variant.pk)
    return fresh.caption == "A cat" and fresh.hashtags == ["#cat"]


@pytest.mark.django_db
def test_owner_saves_an_edit_and_sees_it_on_the_run(alice_client, variant):
    response = alice_client.post(
        edit_url(variant), {"caption": "A very sleepy cat", "hashtags": "#cat #NapTime"}
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"?run={variant.generation_id}")
    variant.refresh_from_db()
    assert (variant.caption, variant.hashtags) == ("A very sleepy cat", ["#cat", "#NapTime"])
    page = alice_client.get(response["Location"]).content.decode()
    assert "A very sleepy cat" in page
    assert "Saved your edit." in page


@pytest.mark.django_db
def test_hashtags_are_tidied_the_way_the_site_writes_them(alice_client, variant):
    alice_client.post(edit_url(variant), {"caption": "Nap", "hashtags": "cat  #SLEEPY #cat"})
    variant.refresh_from_db()
    assert variant.hashtags == ["#cat", "#sleepy"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("caption", "hashtags", "message"),
    [
        ("", "#cat", "The caption is empty"),
        ("A cat", "#a-b", "“#a-b” is not a hashtag"),
        ("A cat", "#one #two #three #four", "4 hashtags: X (Twitter) takes 0 to 3."),
        ("x" * 300, "#cat", "The post is 305 characters as X (Twitter) counts them; the limit is 280."),
        # X weighs CJK double: 150 characters count 300.
        ("猫" * 150, "", "The post is 300 characters as X (Twitter) counts them"),
        ("A cat", "#cat " * 300, "Too many hashtags"),
        ("A cat " * 680, "#cat", "The caption is too long: at most 4,000 characters."),
    ],
)
def test_a_refused_edit_says_why_keeps_the_typed_text_and_saves_nothing(
    alice_client, variant, caption, hashtags, message
):
    response = alice_client.post(edit_url(variant), {"caption": caption, "hashtags": hashtags})
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert 'role="alert"' in page
    if caption:
        assert caption[:50] in page  # What was typed is still there to fix.
    assert unchanged(variant)


@pytest.mark.django_db
def test_a_banned_hashtag_is_refused(alice_client, variant):
    BannedHashtag.objects.create(text="spam")
    response = alice_client.post(edit_url(variant), {"caption": "A cat", "hashtags": "#spam"})
    assert response.status_code == 400
    assert "#spam is not allowed on this site" in response.content.decode()
    assert unchanged(variant)


@pytest.mark.django_db
def test_other_user_gets_404_and_changes_nothing(bob_client, variant):
    assert bob_client.post(edit_url(variant), {"caption": "Mine now", "hashtags": ""}).status_code == 404
    assert unchanged(variant)


@pytest.mark.django_db
def test_staff_get_404_for_other_peoples_variants(staff_client, variant):
    assert staff_client.post(edit_url(variant), {"caption": "Edited", "hashtags": ""}).status_code == 404
    assert unchanged(variant)


@pytest.mark.django_db
def test_anonymous_is_sent_to_log_in(client, variant):
    response = client.post(edit_url(variant), {"caption": "Edited", "hashtags": ""})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert unchanged(variant)


@pytest.mark.django_db
def test_get_is_not_allowed(alice_client, variant):
    assert alice_client.get(edit_url(variant)).status_code == 405


@pytest.mark.django_db
def test_the_page_shows_the_counter_against_the_platform_limit(alice_client, variant):
    page = alice_client.get(reverse("captions:photo_detail", kwargs={"uuid": variant.generation.photo.uuid}))
    assert "10 / 280</span> characters on X" in page.content.decode()  # "A cat #cat"
