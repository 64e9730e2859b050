"""Runs, not replacements: every run of a photo is kept and can be opened again, with its favourite."""

import pytest
from django.urls import reverse

from captions.models import Generation, Suggestion
from tests.factories import GenerationFactory, ModelCaptionFactory, SuggestionFactory, photo_for

OPTIONS = {"platform": "x", "tone": "funny", "variants": 2, "language": "en"}


def url(name: str, photo, **query) -> str:
    path = reverse(f"captions:{name}", kwargs={"uuid": photo.uuid})
    return path + "".join(f"?{key}={value}" for key, value in query.items())


@pytest.fixture
def photo(alice):
    return photo_for(alice, name="dog.jpg")


@pytest.fixture
def first_run(photo):
    run = GenerationFactory(photo=photo, platform="instagram", tone="casual")
    SuggestionFactory(generation=run, position=0, caption="Beach day with my best friend", is_favourite=True)
    SuggestionFactory(generation=run, position=1, caption="Sandy paws")
    return run


@pytest.fixture
def second_run(photo, first_run):
    run = GenerationFactory(photo=photo, platform="linkedin", tone="professional")
    SuggestionFactory(generation=run, position=0, caption="Team offsite, four legs included")
    return run


@pytest.mark.django_db
def test_owner_sees_the_latest_run_and_a_list_of_every_run(alice_client, photo, first_run, second_run):
    page = alice_client.get(url("photo_detail", photo)).content.decode()
    assert "Team offsite, four legs included" in page
    assert "Beach day with my best friend" not in page
    assert "Runs of this photo" in page
    assert f"?run={first_run.pk}" in page
    assert f'?run={second_run.pk}" aria-current="page"' in page
    assert "★ favourite" in page  # The earlier run holds the favourite.


@pytest.mark.django_db
def test_owner_opens_an_earlier_run_with_its_favourite(alice_client, photo, first_run, second_run):
    response = alice_client.get(url("photo_detail", photo, run=first_run.pk))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Beach day with my best friend" in page
    assert "★ Favourite" in page
    assert "Team offsite" not in page
    assert "An earlier run" in page
    assert "Show the latest run" in page


@pytest.mark.django_db
def test_the_status_poll_of_an_earlier_run_keeps_to_that_run(alice_client, photo, first_run, second_run):
    page = alice_client.get(url("photo_status", photo, run=first_run.pk)).content.decode()
    assert "Beach day with my best friend" in page


@pytest.mark.django_db
@pytest.mark.parametrize("run", ["nonsense", "0", "-1", "99999999"])
def test_a_run_that_does_not_exist_is_404(alice_client, photo, first_run, run):
    assert alice_client.get(url("photo_detail", photo, run=run)).status_code == 404


@pytest.mark.django_db
def test_a_run_of_another_photo_is_404(alice_client, alice, photo, first_run):
    other = photo_for(alice, name="other.jpg")
    assert alice_client.get(url("photo_detail", other, run=first_run.pk)).status_code == 404


@pytest.mark.django_db
def test_other_user_gets_404_for_a_run(bob_client, photo, first_run):
    assert bob_client.get(url("photo_detail", photo, run=first_run.pk)).status_code == 404


@pytest.mark.django_db
def test_staff_get_404_for_other_peoples_runs(staff_client, photo, first_run):
    assert staff_client.get(url("photo_detail", photo, run=first_run.pk)).status_code == 404


@pytest.mark.django_db
def test_anonymous_is_sent_to_log_in(client, photo, first_run):
    response = client.get(url("photo_detail", photo, run=first_run.pk))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_generating_again_keeps_the_earlier_run_and_its_favourite(alice_client, photo, first_run):
    favourite = Suggestion.objects.get(is_favourite=True)
    response = alice_client.post(url("photo_regenerate", photo), OPTIONS)
    assert response.status_code == 302
    assert Generation.objects.filter(photo=photo).count() == 2
    favourite.refresh_from_db()
    assert favourite.is_favourite
    page = alice_client.get(url("photo_detail", photo)).content.decode()
    assert f"?run={first_run.pk}" in page  # Reachable from the new run's page.


@pytest.mark.django_db
def test_search_opens_the_run_whose_variant_matched(alice_client, photo, first_run, second_run):
    page = alice_client.get(reverse("captions:photo_list") + "?q=sandy").content.decode()
    assert f"{url('photo_detail', photo)}?run={first_run.pk}" in page


@pytest.mark.django_db
def test_search_on_a_model_caption_opens_its_run(alice_client, photo, first_run, second_run):
    ModelCaptionFactory(generation=first_run, source="blip", text="a corgi digging a hole")
    page = alice_client.get(reverse("captions:photo_list") + "?q=corgi").content.decode()
    assert f"?run={first_run.pk}" in page


@pytest.mark.django_db
def test_a_report_from_an_earlier_run_names_that_run(alice_client, photo, first_run, second_run):
    alice_client.post(url("photo_report", photo), {"reason": "wrong", "run": first_run.pk})
    assert photo.reports.get().generation == first_run


@pytest.mark.django_db
def test_a_report_naming_a_run_of_another_photo_is_404(alice_client, alice, photo, first_run):
    other = photo_for(alice, name="other.jpg")
    response = alice_client.post(url("photo_report", other), {"reason": "wrong", "run": first_run.pk})
    assert response.status_code == 404
    assert not other.reports.exists()
