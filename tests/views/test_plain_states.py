"""Plain words for people, operator details for staff only, and the photo's alt text."""

import pytest
from django.urls import reverse

from captions.models import Generation, ModelCaption
from tests.factories import GenerationFactory, ModelCaptionFactory, SuggestionFactory, photo_for, tagger_row

WEIGHTS_MISSING = (
    "model weights not found for Salesforce/blip-image-captioning-base: run `manage.py download_models` "
    "or set CAPTIONS_BLIP_MODEL to a folder with the weights"
)


def page_url(photo) -> str:
    return reverse("captions:photo_detail", kwargs={"uuid": photo.uuid})


def missing_models_job(owner):
    """A job whose caption models are not installed but whose tagger and writer worked."""
    photo = photo_for(owner, name="coffee.jpg")
    job = GenerationFactory(photo=photo, status=Generation.Status.PARTIAL)
    for source in ("blip", "vit_gpt2"):
        ModelCaptionFactory(
            generation=job, source=source, status=ModelCaption.Status.FAILED, text="", error=WEIGHTS_MISSING
        )
    tagger_row(job, ("coffee", 0.8, "espresso"), ("cup", 0.4, "cup"), ("table", 0.05, "dining table"))
    SuggestionFactory(generation=job, position=0, caption="Coffee first", hashtags=["#coffee"])
    return photo


@pytest.mark.django_db
def test_a_job_without_caption_models_reads_as_done_with_a_quiet_note(alice, alice_client):
    page = alice_client.get(page_url(missing_models_job(alice))).content.decode()
    assert '<span class="status status-done">Done</span>' in page
    assert "Partly done" not in page
    assert "BLIP and ViT-GPT2 are not installed on this server." in page
    assert "Coffee first" in page


@pytest.mark.django_db
def test_people_do_not_see_operator_instructions(alice, alice_client):
    page = alice_client.get(page_url(missing_models_job(alice))).content.decode()
    assert "download_models" not in page
    assert "CAPTIONS_BLIP_MODEL" not in page
    assert "For staff" not in page


@pytest.mark.django_db
def test_staff_see_the_operator_details_on_their_own_photos(staff, staff_client):
    page = staff_client.get(page_url(missing_models_job(staff))).content.decode()
    assert "For staff:" in page
    assert "manage.py download_models" in page
    assert "BLIP and ViT-GPT2 are not installed on this server." in page


@pytest.mark.django_db
def test_history_says_done_for_such_a_job(alice, alice_client):
    missing_models_job(alice)
    page = alice_client.get(reverse("captions:photo_list")).content.decode()
    assert "Partly done" not in page
    assert ">Done</span>" in page
    assert "coffee.jpg" in alice_client.get(reverse("captions:photo_list") + "?status=done").content.decode()


@pytest.mark.django_db
def test_the_results_region_stays_live_when_the_job_is_done(alice, alice_client):
    page = alice_client.get(page_url(missing_models_job(alice))).content.decode()
    region = page[page.index('<div id="generation"') :]
    region = region[: region.index(">")]
    assert 'aria-live="polite"' in region
    assert "hx-get" not in region  # Done: no more polling.
    assert 'id="job-announcer"' in page


@pytest.mark.django_db
def test_alt_text_comes_from_the_objects_seen_when_no_caption_model_ran(alice, alice_client):
    page = alice_client.get(page_url(missing_models_job(alice))).content.decode()
    assert 'alt="Photo showing coffee and cup."' in page
    assert 'data-copy="Photo showing coffee and cup."' in page
    assert "Copy alt text" in page


@pytest.mark.django_db
def test_alt_text_uses_the_caption_when_there_is_one(alice, alice_client):
    photo = photo_for(alice, name="IMG_0042.jpg")
    job = GenerationFactory(photo=photo)
    ModelCaptionFactory(generation=job, source="blip", text="a dog  running on the beach")
    page = alice_client.get(page_url(photo)).content.decode()
    assert 'alt="A dog running on the beach."' in page
    assert 'alt="IMG_0042.jpg"' not in page


@pytest.mark.django_db
def test_before_any_result_the_alt_text_is_not_the_file_name(alice, alice_client):
    photo = photo_for(alice, name="IMG_0043.jpg")
    GenerationFactory(photo=photo, status=Generation.Status.QUEUED)
    page = alice_client.get(page_url(photo)).content.decode()
    assert 'alt="IMG_0043.jpg"' not in page
    assert "Copy alt text" not in page
