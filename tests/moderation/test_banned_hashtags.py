"""The banned-hashtag list: the starter list, the admin form, and the filter on both refiners' output."""

import pytest
from django.contrib.admin.models import ADDITION, DELETION, LogEntry
from django.urls import reverse

from captions.backends.base import RefineRequest
from captions.backends.base import Suggestion as SuggestionData
from captions.backends.offline_refiner import OfflineRefiner
from captions.backends.openai_refiner import OpenAIRefiner
from captions.models import BannedHashtag, Generation, ModerationAction
from captions.services import pipeline
from captions.services.banned_hashtags import banned_hashtag_matcher
from captions.services.suggestion_rules import suggestions_finalise
from tests.factories import GenerationFactory
from tests.fakes.openai_server import FakeOpenAIServer
from tests.moderation.conftest import content_rows, stored_photo

ADD = reverse("admin:captions_bannedhashtag_add")
CAPTIONS = {"blip": "a cat lying on a red blanket", "vit_gpt2": "a cat laying on a bed"}
BAIT = [
    "#follow4follow",
    "#Like4Like",
    "#likeforlike",
    "#f4f",
    "#l4l",
    "#follow_4_follow",
    "#sub4sub",
    "#buyfollowers",
]
FINE = ["#cat", "#catsofinstagram", "#followthesun", "#coffeelover", "#foodporn", "#likeaboss", "#l4"]


@pytest.fixture
def fake_openai():
    with FakeOpenAIServer() as fake:
        yield fake


def request(**overrides) -> RefineRequest:
    fields = {"captions": CAPTIONS, "tags": ("cat", "blanket"), "platform": "instagram", "tone": "casual"}
    return RefineRequest(**{**fields, **overrides})


def variants(count: int, hashtags: list[str]) -> dict:
    return {
        "variants": [{"caption": f"Variant {i} of a sleepy cat", "hashtags": hashtags} for i in range(count)]
    }


# The list -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_starter_list_is_there_after_migrating():
    words = set(BannedHashtag.objects.filter(kind="exact").values_list("text", flat=True))
    assert {"follow4follow", "like4like", "f4f", "l4l", "followforfollow", "likeforlike"} <= words
    assert BannedHashtag.objects.filter(kind="pattern").count() >= 3


@pytest.mark.django_db
@pytest.mark.parametrize("tag", BAIT)
def test_starter_list_bans_engagement_bait(tag):
    assert banned_hashtag_matcher()(tag)


@pytest.mark.django_db
@pytest.mark.parametrize("tag", FINE)
def test_starter_list_keeps_ordinary_hashtags(tag):
    assert not banned_hashtag_matcher()(tag)


@pytest.mark.django_db
def test_exact_words_match_whole_ignoring_case_and_patterns_are_searched():
    BannedHashtag.objects.create(text="badword", kind="exact")
    BannedHashtag.objects.create(text="scam", kind="pattern")
    is_banned = banned_hashtag_matcher()
    assert is_banned("#BadWord") and is_banned("badword") and not is_banned("#badwords")
    assert is_banned("#cryptoscam") and is_banned("#SCAMalert")


@pytest.mark.django_db
def test_a_broken_pattern_in_the_table_is_skipped_not_fatal():
    BannedHashtag.objects.create(text="(unclosed", kind="pattern")
    assert banned_hashtag_matcher()("#follow4follow")
    assert not banned_hashtag_matcher()("#cat")


# The admin ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "kind", "error"),
    [
        (
            "(unclosed",
            "pattern",
            "Not a valid regular expression: missing ), unterminated subpattern at position 0.",
        ),
        ("[a-", "pattern", "Not a valid regular expression: unterminated character set at position 0."),
        (".*", "pattern", "This pattern matches an empty word, so it would remove every hashtag."),
        ("two words", "exact", "An exact word holds only letters, digits and underscores"),
        ("follow4follow", "exact", "Banned hashtag with this Text and Kind already exists."),
    ],
)
def test_admin_form_refuses_a_bad_entry_with_a_clear_error(moderator_client, text, kind, error):
    before = BannedHashtag.objects.count()
    response = moderator_client.post(ADD, {"text": text, "kind": kind, "note": ""})
    assert response.status_code == 200
    assert error in response.content.decode()
    assert BannedHashtag.objects.count() == before


@pytest.mark.django_db
def test_admin_adds_and_deletes_entries_with_an_audit_trail(moderator_client, moderator):
    response = moderator_client.post(ADD, {"text": "#CheapViews", "kind": "exact", "note": "spam"})
    assert response.status_code == 302
    item = BannedHashtag.objects.get(text="CheapViews")
    assert banned_hashtag_matcher()("#cheapviews")
    assert LogEntry.objects.get(object_id=str(item.pk), action_flag=ADDITION).user == moderator
    added = ModerationAction.objects.get(action="banned_hashtag_add")
    assert added.reason == "spam" and added.actor == moderator
    delete = reverse("admin:captions_bannedhashtag_delete", args=[item.pk])
    assert moderator_client.post(delete, {"post": "yes"}).status_code == 302
    assert not BannedHashtag.objects.filter(pk=item.pk).exists()
    assert LogEntry.objects.filter(object_id=str(item.pk), action_flag=DELETION).exists()
    assert ModerationAction.objects.filter(action="banned_hashtag_delete", target_id=str(item.pk)).exists()


@pytest.mark.django_db
def test_admin_accepts_a_valid_pattern(moderator_client):
    pattern = r"^(follow|like)\d*for\d*(follow|like)$"
    BannedHashtag.objects.filter(text=pattern).delete()
    assert moderator_client.post(ADD, {"text": pattern, "kind": "pattern"}).status_code == 302
    assert BannedHashtag.objects.filter(text=pattern, kind="pattern").exists()


# Both refiners' output -------------------------------------------------------------------


@pytest.mark.django_db
def test_offline_refiners_hashtags_are_filtered_and_counted_without_a_flag():
    suggestions = OfflineRefiner().refine(request(count=3))
    banned = suggestions[0].hashtags[0]
    BannedHashtag.objects.create(text=banned.lstrip("#"), kind="exact")
    present = sum(banned in s.hashtags for s in suggestions)
    assert present >= 1
    kept, dropped, llm_hit = suggestions_finalise(
        request=request(count=3), suggestions=suggestions, from_llm=False
    )
    assert dropped == present and llm_hit is False
    assert all(banned not in s.hashtags for s in kept)
    assert [s.caption for s in kept] == [s.caption for s in suggestions]


@pytest.mark.django_db
def test_openai_refiners_hashtags_are_filtered_and_counted_as_an_llm_hit(fake_openai):
    fake_openai.reply_next(variants(2, ["#cat", "#follow4follow", "#catnap", "#Like4Like"]))
    refiner = OpenAIRefiner(api_key="sk-test", base_url=fake_openai.url, model="fake", timeout=5)
    suggestions = refiner.refine(request(count=2))
    assert all("#follow4follow" in s.hashtags for s in suggestions)
    kept, dropped, llm_hit = suggestions_finalise(
        request=request(count=2), suggestions=suggestions, from_llm=True
    )
    assert dropped == 4 and llm_hit is True
    assert [s.hashtags[:2] for s in kept] == [("#cat", "#catnap")] * 2
    assert not {"#follow4follow", "#Like4Like", "#like4like"} & {t for s in kept for t in s.hashtags}


@pytest.mark.django_db
def test_nothing_dropped_is_no_llm_hit():
    clean = [SuggestionData(caption="A cat", hashtags=("#cat",))]
    _, dropped, llm_hit = suggestions_finalise(request=request(count=1), suggestions=clean, from_llm=True)
    assert (dropped, llm_hit) == (0, False)


def refining_job(owner) -> Generation:
    generation = GenerationFactory(
        photo=stored_photo(owner), status=Generation.Status.REFINING, sources=["blip", "vit_gpt2", "tagger"]
    )
    content_rows(generation)
    return generation


@pytest.mark.django_db
def test_pipeline_stores_llm_suggestions_without_banned_hashtags_and_flags_the_photo(
    alice, settings, fake_openai
):
    settings.CAPTIONS_REFINER = "openai"
    settings.OPENAI_BASE_URL = fake_openai.url
    settings.OPENAI_API_KEY = "sk-test"
    generation = refining_job(alice)
    fake_openai.reply_next(variants(3, ["#cat", "#likeforlike", "#blanket", "#f4f", "#sleepy"]))
    pipeline.generation_refine(generation_id=generation.pk)
    generation.refresh_from_db()
    assert generation.status == "done" and generation.refiner == "openai"
    assert generation.banned_hashtags_dropped == 6
    stored = [tag for s in generation.suggestions.all() for tag in s.hashtags]
    assert "#likeforlike" not in stored and "#f4f" not in stored and "#cat" in stored
    generation.photo.refresh_from_db()
    assert "The language model produced banned hashtags." in generation.photo.flag_reasons
    assert generation.photo.flagged_at is not None


@pytest.mark.django_db
def test_pipeline_drops_a_banned_word_from_the_offline_composer_without_flagging(alice, settings):
    settings.CAPTIONS_REFINER = "offline"
    BannedHashtag.objects.create(text="cat", kind="exact")
    generation = refining_job(alice)
    pipeline.generation_refine(generation_id=generation.pk)
    generation.refresh_from_db()
    assert generation.status == "done" and generation.refiner == "offline"
    stored = [tag.casefold() for s in generation.suggestions.all() for tag in s.hashtags]
    assert stored and "#cat" not in stored
    assert generation.banned_hashtags_dropped >= 1
    generation.photo.refresh_from_db()
    assert generation.photo.flagged_at is None


@pytest.mark.django_db
def test_owner_sees_how_many_hashtags_the_rules_removed(alice, alice_client, settings):
    settings.CAPTIONS_REFINER = "offline"
    BannedHashtag.objects.create(text="cat", kind="exact")
    generation = refining_job(alice)
    pipeline.generation_refine(generation_id=generation.pk)
    generation.refresh_from_db()
    page = alice_client.get(reverse("captions:photo_detail", kwargs={"uuid": generation.photo.uuid}))
    n = generation.banned_hashtags_dropped
    assert f"{n} hashtag{'s' if n > 1 else ''} removed by the site's rules." in page.content.decode()
