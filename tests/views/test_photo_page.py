"""The photo page: both captions, tags, ready-to-post suggestions, live status, and the owner's actions."""

from html.parser import HTMLParser

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from captions.models import Generation, ModelCaption, Photo, Report, Suggestion
from tests.factories import GenerationFactory, ModelCaptionFactory, SuggestionFactory, photo_for, tagger_row

OPTIONS = {"platform": "linkedin", "tone": "professional", "variants": 2, "language": "de"}


class Elements(HTMLParser):
    """Start tags with their attributes, entities decoded, so tests read what a browser reads."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def attr(self, name: str) -> list[str]:
        return [attrs[name] for _, attrs in self.tags if name in attrs]


def url(name: str, photo: Photo) -> str:
    return reverse(f"captions:{name}", kwargs={"uuid": photo.uuid})


def favourite_url(suggestion: Suggestion) -> str:
    return reverse("captions:suggestion_favourite", kwargs={"pk": suggestion.pk})


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def photo(alice):
    return photo_for(alice, name="beach.jpg")


@pytest.fixture
def generation(photo):
    generation = GenerationFactory(photo=photo, platform="instagram", sources=["blip", "vit_gpt2", "tagger"])
    ModelCaptionFactory(
        generation=generation,
        source="blip",
        text="a golden retriever on the sand",
        seconds=1.234,
        model_name="Salesforce/blip-image-captioning-base",
    )
    ModelCaptionFactory(
        generation=generation,
        source="vit_gpt2",
        text="a dog standing next to the ocean",
        seconds=0.5,
        model_name="nlpconnect/vit-gpt2-image-captioning",
    )
    tagger_row(generation, ("dog", 0.87, "golden retriever"), ("beach", 0.4, "seashore"))
    return generation


@pytest.fixture
def suggestions(generation):
    return [
        SuggestionFactory(
            generation=generation, position=0, caption="Zoomies at sunset", hashtags=["#dog", "#beach"]
        ),
        SuggestionFactory(generation=generation, position=1, caption="Salt & sand", hashtags=["#goldenhour"]),
    ]


def page_of(client, photo: Photo) -> str:
    response = client.get(url("photo_detail", photo))
    assert response.status_code == 200
    return response.content.decode()


# Results


@pytest.mark.django_db
def test_page_shows_both_model_captions_side_by_side_with_their_times(alice_client, photo, generation):
    page = page_of(alice_client, photo)
    captions = page[page.index('<div class="captions">') :]
    blip, vit = captions.index('data-source="BLIP"'), captions.index('data-source="ViT-GPT2"')
    assert blip < vit
    assert "a golden retriever on the sand" in captions[blip:vit]
    assert "1.23 s" in captions[blip:vit]
    assert "a dog standing next to the ocean" in captions[vit:]
    assert "0.50 s" in captions[vit:]


@pytest.mark.django_db
def test_failed_source_says_so_plainly_and_the_other_caption_still_shows(alice_client, photo, generation):
    ModelCaption.objects.filter(generation=generation, source="vit_gpt2").update(
        status=ModelCaption.Status.FAILED, text="", error="ViT-GPT2 weights are not downloaded yet."
    )
    Generation.objects.filter(pk=generation.pk).update(status=Generation.Status.PARTIAL)
    page = page_of(alice_client, photo)
    assert "ViT-GPT2 is not installed on this server." in page
    assert "a golden retriever on the sand" in page


@pytest.mark.django_db
def test_source_still_running_says_working(alice_client, photo):
    generation = GenerationFactory(photo=photo, status=Generation.Status.CAPTIONING)
    ModelCaptionFactory(generation=generation, source="blip", text="a cat on a sofa")
    page = page_of(alice_client, photo)
    assert "a cat on a sofa" in page
    assert page.count("Working…") == 2  # ViT-GPT2 and the tagger.


@pytest.mark.django_db
def test_object_tags_show_with_their_confidence(alice_client, photo, generation):
    page = page_of(alice_client, photo)
    assert '<li title="golden retriever">dog <span class="muted">87%</span></li>' in page
    assert '<li title="seashore">beach <span class="muted">40%</span></li>' in page


@pytest.mark.django_db
def test_each_suggestion_has_copy_buttons_for_caption_hashtags_and_both(alice_client, photo, suggestions):
    copies = Elements(page_of(alice_client, photo)).attr("data-copy")
    for expected in (
        "Zoomies at sunset",
        "#dog #beach",
        "Zoomies at sunset\n\n#dog #beach",
        "Salt & sand",
        "#goldenhour",
        "Salt & sand\n\n#goldenhour",
    ):
        assert expected in copies


@pytest.mark.django_db
def test_suggestion_text_is_escaped(alice_client, photo, generation):
    SuggestionFactory(generation=generation, caption='<img src=x onerror="alert(1)">', hashtags=["#ok"])
    page = page_of(alice_client, photo)
    assert "<img src=x" not in page
    assert '<img src=x onerror="alert(1)">' in Elements(page).attr("data-copy")


@pytest.mark.django_db
def test_suggestion_shows_its_post_length(alice_client, photo, suggestions):
    page = page_of(alice_client, photo)
    assert (
        f"{len('Zoomies at sunset') + 2 + len('#dog #beach')} / 2,200</span> characters on Instagram" in page
    )


# Favourites


@pytest.mark.django_db
def test_marking_a_favourite_keeps_exactly_one_per_job(alice_client, photo, suggestions):
    first, second = suggestions
    response = alice_client.post(favourite_url(first))
    assert response["Location"] == f"{url('photo_detail', photo)}?run={first.generation_id}"
    assert list(Suggestion.objects.filter(is_favourite=True)) == [first]

    alice_client.post(favourite_url(second))
    assert list(Suggestion.objects.filter(is_favourite=True)) == [second]
    assert "★ Favourite" in page_of(alice_client, photo)


@pytest.mark.django_db
def test_pressing_the_favourite_again_clears_it(alice_client, suggestions):
    alice_client.post(favourite_url(suggestions[0]))
    alice_client.post(favourite_url(suggestions[0]))
    assert not Suggestion.objects.filter(is_favourite=True).exists()


@pytest.mark.django_db
def test_favourites_of_different_jobs_do_not_clear_each_other(alice_client, photo, suggestions):
    other = SuggestionFactory(generation=GenerationFactory(photo=photo), caption="Another run")
    alice_client.post(favourite_url(suggestions[0]))
    alice_client.post(favourite_url(other))
    assert set(Suggestion.objects.filter(is_favourite=True)) == {suggestions[0], other}


@pytest.mark.django_db
def test_favourite_from_htmx_returns_only_the_suggestions(alice_client, photo, suggestions):
    response = alice_client.post(favourite_url(suggestions[1]), headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="suggestions"')
    assert "<html" not in html
    assert response.templates[0].name == "captions/_suggestions.html"
    buttons = [attrs for tag, attrs in Elements(html).tags if tag == "button" and "aria-pressed" in attrs]
    assert [b["aria-pressed"] for b in buttons] == ["false", "true"]
    assert Suggestion.objects.get(is_favourite=True) == suggestions[1]


# Live status


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["queued", "captioning", "refining"])
def test_status_fragment_keeps_polling_while_the_job_runs(alice_client, photo, status):
    GenerationFactory(photo=photo, status=status)
    response = alice_client.get(url("photo_status", photo))
    assert response.status_code == 200
    root = Elements(response.content.decode()).tags[0][1]
    assert root["id"] == "generation"
    assert root["hx-get"] == url("photo_status", photo)
    assert root["hx-trigger"].startswith("every ")
    assert root["data-status"] == status


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["done", "partial", "failed", "held", "cancelled"])
def test_status_fragment_stops_polling_once_the_job_is_final(alice_client, photo, status):
    GenerationFactory(photo=photo, status=status)
    html = alice_client.get(url("photo_status", photo)).content.decode()
    root = Elements(html).tags[0][1]
    assert root["data-status"] == status
    assert "hx-trigger" not in root and "hx-get" not in root
    assert "hx-trigger" not in html.split("<form")[0]


@pytest.mark.django_db
def test_photo_page_polls_while_running_and_shows_progress(alice_client, photo):
    GenerationFactory(photo=photo, status=Generation.Status.CAPTIONING)
    page = page_of(alice_client, photo)
    assert 'hx-trigger="every' in page
    assert '<progress aria-label="Progress" max="4" value="2">' in page


@pytest.mark.django_db
def test_failed_job_shows_its_reason(alice_client, photo):
    GenerationFactory(photo=photo, status=Generation.Status.FAILED, error="Every caption source failed.")
    page = page_of(alice_client, photo)
    assert "Every caption source failed." in page
    assert 'hx-trigger="every' not in page


@pytest.mark.django_db
def test_photo_without_a_job_invites_to_generate(alice_client, photo):
    page = page_of(alice_client, photo)
    assert "No captions yet" in page
    assert "hx-trigger" not in page


# Generate again


@pytest.mark.django_db
def test_regenerate_with_valid_options_queues_a_new_job(alice_client, photo, generation):
    response = alice_client.post(url("photo_regenerate", photo), OPTIONS)
    assert response["Location"] == url("photo_detail", photo)
    newest = photo.generations.order_by("-created_at", "-id").first()
    assert photo.generations.count() == 2
    assert newest != generation
    assert newest.status == Generation.Status.QUEUED
    assert (newest.platform, newest.tone, newest.variants, newest.language) == (
        "linkedin",
        "professional",
        2,
        "de",
    )
    page = page_of(alice_client, photo)
    assert 'data-status="queued"' in page


@pytest.mark.django_db
def test_regenerate_form_starts_from_the_last_jobs_options(alice_client, photo):
    GenerationFactory(photo=photo, **OPTIONS)
    elements = Elements(page_of(alice_client, photo))
    selected = [attrs["value"] for tag, attrs in elements.tags if tag == "option" and "selected" in attrs]
    assert {"linkedin", "professional", "de"} <= set(selected)
    assert any(attrs.get("name") == "variants" and attrs.get("value") == "2" for _, attrs in elements.tags)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "named"),
    [({"variants": 9}, "Caption variants"), ({"platform": "myspace"}, "Platform"), ({"tone": ""}, "Tone")],
    ids=["too-many-variants", "unknown-platform", "no-tone"],
)
def test_regenerate_with_invalid_options_says_why_and_starts_nothing(
    alice_client, photo, generation, change, named
):
    response = alice_client.post(url("photo_regenerate", photo), {**OPTIONS, **change}, follow=True)
    assert photo.generations.count() == 1
    [message] = messages_of(response)
    assert message.startswith("Those options are not valid")
    assert named in message
    assert message in response.content.decode()


@pytest.mark.django_db
def test_regenerate_over_the_daily_quota_says_so(alice_client, photo, generation, settings):
    settings.DAILY_GENERATION_QUOTA = 1
    response = alice_client.post(url("photo_regenerate", photo), OPTIONS, follow=True)
    assert photo.generations.count() == 1
    assert "Daily limit reached" in response.content.decode()


# Reports


@pytest.mark.django_db
def test_report_creates_a_report_and_flags_the_photo(alice, alice_client, photo, generation):
    response = alice_client.post(
        url("photo_report", photo), {"reason": "offensive", "note": "rude hashtag"}, follow=True
    )
    report = Report.objects.get()
    assert (report.photo, report.reporter, report.reason, report.note) == (
        photo,
        alice,
        "offensive",
        "rude hashtag",
    )
    assert report.generation == generation
    photo.refresh_from_db()
    assert photo.flagged_at is not None
    assert any("offensive" in reason for reason in photo.flag_reasons)
    assert "a moderator will look at this result" in response.content.decode()


@pytest.mark.django_db
def test_report_without_a_reason_is_refused(alice_client, photo, generation):
    response = alice_client.post(url("photo_report", photo), {"reason": ""}, follow=True)
    assert Report.objects.count() == 0
    photo.refresh_from_db()
    assert photo.flagged_at is None
    assert "Choose why you are reporting this result." in response.content.decode()


@pytest.mark.django_db
def test_report_form_shows_once_a_job_exists_even_while_it_runs(alice_client, photo):
    assert url("photo_report", photo) not in page_of(alice_client, photo)
    GenerationFactory(photo=photo, status=Generation.Status.REFINING)
    assert url("photo_report", photo) in page_of(alice_client, photo)


@pytest.mark.django_db
def test_a_queued_job_waits_and_a_final_one_never_says_working(alice_client, photo):
    generation = GenerationFactory(photo=photo, status=Generation.Status.QUEUED)
    page = page_of(alice_client, photo)
    assert "Working…" not in page and page.count("Waiting…") == 3  # Both captions and the tags.
    Generation.objects.filter(pk=generation.pk).update(status=Generation.Status.FAILED, error="It broke.")
    page = page_of(alice_client, photo)
    assert "Working…" not in page and "Waiting…" not in page
    assert page.count("Not run.") == 3
