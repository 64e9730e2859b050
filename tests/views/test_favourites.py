"""The favourites page and History's favourites filter."""

import pytest
from django.urls import reverse

from tests.factories import GenerationFactory, SuggestionFactory, photo_for

FAVOURITES = reverse("captions:favourite_list")
HISTORY = reverse("captions:photo_list")


@pytest.fixture
def loved(alice):
    photo = photo_for(alice, name="sunset.jpg")
    run = GenerationFactory(photo=photo, platform="x", tone="poetic")
    SuggestionFactory(
        generation=run, position=0, caption="Fire on the water", hashtags=["#sunset"], is_favourite=True
    )
    SuggestionFactory(generation=run, position=1, caption="Not this one", hashtags=["#meh"])
    # A later run does not hide the favourite of the earlier one.
    SuggestionFactory(generation=GenerationFactory(photo=photo), position=0, caption="Newer words")
    return photo, run


@pytest.fixture
def plain(alice):
    photo = photo_for(alice, name="receipt.jpg")
    SuggestionFactory(generation=GenerationFactory(photo=photo), position=0, caption="Just a receipt")
    return photo


@pytest.mark.django_db
def test_owner_sees_each_favourite_with_its_photo_and_run(alice_client, loved, plain):
    photo, run = loved
    page = alice_client.get(FAVOURITES).content.decode()
    assert "Fire on the water" in page
    assert "sunset.jpg" in page
    assert f"{reverse('captions:photo_detail', kwargs={'uuid': photo.uuid})}?run={run.pk}" in page
    assert 'data-copy="Fire on the water #sunset"' in page  # X: one space before the hashtags.
    assert "Not this one" not in page
    assert "Just a receipt" not in page


@pytest.mark.django_db
def test_favourites_page_with_none_explains_how(alice_client):
    page = alice_client.get(FAVOURITES).content.decode()
    assert "No favourites yet" in page


@pytest.mark.django_db
def test_other_user_sees_none_of_alices_favourites(bob_client, loved):
    page = bob_client.get(FAVOURITES).content.decode()
    assert "Fire on the water" not in page
    assert "No favourites yet" in page


@pytest.mark.django_db
def test_staff_see_only_their_own_favourites(staff_client, loved):
    response = staff_client.get(FAVOURITES)
    assert response.status_code == 200
    assert "Fire on the water" not in response.content.decode()


@pytest.mark.django_db
def test_anonymous_is_sent_to_log_in(client):
    response = client.get(FAVOURITES)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_the_navigation_links_to_favourites(alice_client):
    assert f'href="{FAVOURITES}"' in alice_client.get(HISTORY).content.decode()


@pytest.mark.django_db
def test_history_favourites_filter_keeps_only_photos_with_a_favourite(alice_client, loved, plain):
    page = alice_client.get(HISTORY + "?favourites=1").content.decode()
    assert "sunset.jpg" in page
    assert "receipt.jpg" not in page
    assert 'name="favourites" value="1" checked' in page
    unfiltered = alice_client.get(HISTORY).content.decode()
    assert "receipt.jpg" in unfiltered


@pytest.mark.django_db
def test_history_favourites_filter_shows_nothing_of_other_users(bob_client, loved):
    assert "sunset.jpg" not in bob_client.get(HISTORY + "?favourites=1").content.decode()
