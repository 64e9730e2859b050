import pytest

from captions.backends.base import RefineRequest
from captions.backends.offline_refiner import OfflineRefiner, clean_model_caption
from captions.platforms import PLATFORM_RULES, TONE_RULES, compose_post, violations

CAPTIONS = {
    "blip": "arafed cat sitting on a couch with a remote",
    "vit_gpt2": "a cat laying on a couch next to a remote control ",
}
TAGS = ("cat", "sofa", "remote control")


def request(**overrides) -> RefineRequest:
    fields = {"captions": CAPTIONS, "tags": TAGS, "platform": "instagram", "tone": "casual", "count": 3}
    return RefineRequest(**{**fields, **overrides})


@pytest.mark.parametrize("count", [1, 3, 5])
@pytest.mark.parametrize("tone", list(TONE_RULES))
@pytest.mark.parametrize("platform", list(PLATFORM_RULES))
def test_every_suggestion_obeys_its_platform(platform, tone, count):
    suggestions = OfflineRefiner().refine(request(platform=platform, tone=tone, count=count))
    assert len(suggestions) == count
    for suggestion in suggestions:
        assert violations(platform, suggestion) == []
        assert suggestion.hashtags


@pytest.mark.parametrize("platform", list(PLATFORM_RULES))
def test_a_long_caption_still_fits(platform):
    long = {"blip": "a dog running on the beach " * 60}
    for suggestion in OfflineRefiner().refine(request(captions=long, platform=platform, count=5)):
        assert violations(platform, suggestion) == []


def test_same_input_gives_the_same_output():
    assert OfflineRefiner().refine(request(count=5)) == OfflineRefiner().refine(request(count=5))


def test_different_input_gives_different_output():
    cat = OfflineRefiner().refine(request())
    dog = OfflineRefiner().refine(request(captions={"blip": "a dog on the grass"}, tags=("dog",)))
    assert cat != dog


def test_variants_differ_in_caption_and_hashtags():
    suggestions = OfflineRefiner().refine(request(count=5))
    assert len({s.caption for s in suggestions}) == 5
    assert len({s.hashtags for s in suggestions}) == 5


def test_model_artefacts_are_cleaned():
    for suggestion in OfflineRefiner().refine(request(count=5)):
        assert "arafed" not in suggestion.caption.lower()
        assert ".." not in suggestion.caption
        assert "  " not in suggestion.caption


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("arafed cat sitting on a couch", "a cat sitting on a couch"),
        ("araffe woman holding an umbrella.", "a woman holding an umbrella"),
        ("arafed people standing in a line", "people standing in a line"),
        ("there is a dog that is laying on the grass", "a dog that is laying on the grass"),
        ("A man riding a wave on top of a surfboard surfboard ", "a man riding a wave on top of a surfboard"),
        ("  ", ""),
    ],
)
def test_clean_model_caption(raw, clean):
    assert clean_model_caption(raw) == clean


def test_tags_lead_the_hashtags_and_multiword_tags_are_camel_case():
    suggestion = OfflineRefiner().refine(request(tags=("sports car", "road"), captions={}))[0]
    assert suggestion.hashtags[:2] == ("#SportsCar", "#road")
    assert "sports car" in suggestion.caption.lower()


def test_popular_companions_follow_the_platform():
    def all_tags(platform: str) -> set[str]:
        suggestions = OfflineRefiner().refine(request(platform=platform, tags=("cat",), count=5))
        return {tag for s in suggestions for tag in s.hashtags}

    assert "#CatsOfInstagram" in all_tags("instagram")
    assert "#CatsOfTikTok" in all_tags("tiktok")
    assert not any("ofinstagram" in tag for tag in all_tags("linkedin"))


def test_caption_nouns_become_hashtags_but_verbs_and_stopwords_do_not():
    suggestions = OfflineRefiner().refine(request(tags=(), platform="general", count=1))
    tags = suggestions[0].hashtags
    assert "#couch" in tags and "#cat" in tags
    assert not {"#sitting", "#laying", "#with", "#next", "#arafed"} & set(tags)


def test_with_no_captions_and_no_tags_it_writes_generic_suggestions():
    suggestions = OfflineRefiner().refine(request(captions={}, tags=(), platform="tiktok", count=5))
    assert len(suggestions) == 5
    assert all(violations("tiktok", s) == [] for s in suggestions)
    assert any("#fyp" in s.hashtags for s in suggestions)
    assert "{" not in " ".join(s.caption for s in suggestions)


def test_linkedin_gets_its_minimum_from_professional_generic_tags():
    for suggestion in OfflineRefiner().refine(request(captions={}, tags=(), platform="linkedin", count=5)):
        assert len(suggestion.hashtags) >= 3


def test_one_caption_source_is_enough():
    suggestions = OfflineRefiner().refine(
        request(captions={"vit_gpt2": "a bowl of soup on a table"}, tags=())
    )
    assert "soup" in suggestions[0].caption
    assert "#soup" in {tag for s in suggestions for tag in s.hashtags}


def test_x_posts_are_composed_within_280_characters():
    for suggestion in OfflineRefiner().refine(request(platform="x", tone="funny", count=5)):
        assert len(compose_post(suggestion, "x")) <= 280


def test_count_is_kept_between_one_and_five():
    assert len(OfflineRefiner().refine(request(count=9))) == 5
    assert len(OfflineRefiner().refine(request(count=0))) == 1


def test_it_says_it_writes_english_only():
    refiner = OfflineRefiner()
    assert refiner.name == "offline"
    assert refiner.languages == ("en",)
    assert refiner.note == "The offline composer writes English only."
    assert refiner.refine(request(language="de"))  # still English, not an error


def test_a_new_seed_gives_new_variants_and_the_same_seed_the_same():
    first = OfflineRefiner().refine(request(seed=1))
    assert OfflineRefiner().refine(request(seed=1)) == first
    others = [OfflineRefiner().refine(request(seed=seed)) for seed in range(2, 6)]
    assert any(run != first for run in others)
    assert len({tuple(s.caption for s in run) for run in [first, *others]}) >= 3


def test_the_captions_noun_leads_over_a_tags_guess():
    suggestions = OfflineRefiner().refine(
        request(captions={"blip": "a woman in a uniform posing for a picture"}, tags=("helmet",))
    )
    for suggestion in suggestions:
        assert "woman in a uniform posing for a picture" in suggestion.caption
        assert "helmet" not in suggestion.caption
        assert suggestion.hashtags.index("#woman") < suggestion.hashtags.index("#helmet")


@pytest.mark.parametrize("platform", ["instagram", "x", "tiktok"])
@pytest.mark.parametrize("tone", list(TONE_RULES))
def test_at_most_one_generic_hashtag_on_small_platforms(platform, tone):
    from captions.post_order import is_generic

    for tags in [("cat",), (), ("cat", "sofa", "remote control")]:
        for suggestion in OfflineRefiner().refine(request(platform=platform, tone=tone, tags=tags, count=5)):
            assert sum(is_generic(t) for t in suggestion.hashtags) <= 1


def test_every_hashtag_follows_the_one_casing_rule():
    from captions.hashtags import clean_hashtag

    for platform in PLATFORM_RULES:
        for suggestion in OfflineRefiner().refine(request(platform=platform, count=5)):
            for tag in suggestion.hashtags:
                assert clean_hashtag(tag) == tag
                body = tag[1:]
                assert body.islower() or body[0].isupper(), tag  # "#cat" or "#CatLover", never "#Cat"


@pytest.mark.parametrize(
    ("tags", "wrong"),
    [
        (("coffee",), ["a coffee", "an coffee"]),
        (("bubbles",), ["a bubbles", "bubbles is", "bubbles has", "are the star "]),
        (("canoe", "boathouse"), ["the boathouse is", "the boathouse has", "are the star "]),
        (("soccer",), ["a soccer", "the soccer"]),
        (("mountains",), ["a mountains", "mountains is"]),
        (("owl",), ["a owl"]),
    ],
)
def test_sentences_agree_with_mass_plural_and_activity_nouns(tags, wrong):
    for tone in TONE_RULES:
        for platform in PLATFORM_RULES:
            for suggestion in OfflineRefiner().refine(
                request(captions={}, tags=tags, tone=tone, platform=platform, count=5)
            ):
                text = suggestion.caption.lower()
                assert not any(w in text for w in wrong), suggestion.caption
                assert "{" not in text


def test_a_portrait_is_about_the_person_not_their_props():
    suggestions = OfflineRefiner().refine(request(captions={}, tags=("helmet",), people=("portrait",)))
    assert all("portrait" in s.caption.lower() and "helmet" not in s.caption.lower() for s in suggestions)
    assert all("#portrait" in s.hashtags for s in suggestions)


def test_a_close_up_caption_loses_its_filler_and_people_are_never_rated():
    suggestions = OfflineRefiner().refine(
        request(captions={"blip": "a close up of a man laying on a bed"}, tags=(), tone="funny", count=5)
    )
    for suggestion in suggestions:
        assert "close up" not in suggestion.caption and "laying" not in suggestion.caption
        assert "a man lying on a bed" in suggestion.caption.lower()
        assert "Rating" not in suggestion.caption


def test_scene_words_name_the_photo_and_its_hashtags():
    from captions.backends.base import RefineRequest
    from captions.backends.offline_refiner import OfflineRefiner

    request = RefineRequest(
        captions={}, tags=("night sky", "stars", "night"), platform="instagram", tone="casual"
    )
    suggestions = OfflineRefiner().refine(request)
    assert all("the night sky" in s.caption.lower() for s in suggestions)
    assert all(s.hashtags[:2] == ("#NightSky", "#stars") for s in suggestions)


def test_hashtag_only_scene_words_never_become_the_subject():
    from captions.backends.base import RefineRequest
    from captions.backends.offline_refiner import OfflineRefiner

    request = RefineRequest(captions={}, tags=("black and white",), platform="instagram", tone="casual")
    suggestions = OfflineRefiner().refine(request)
    assert all("black and white" not in s.caption.lower() for s in suggestions)
    assert all("#BlackAndWhite" in s.hashtags for s in suggestions)


def test_with_nothing_sure_no_caption_reads_this_shot_of_this_view():
    from captions.backends.base import RefineRequest
    from captions.backends.offline_refiner import OfflineRefiner
    from captions.platforms import PLATFORM_RULES, TONE_RULES

    captions = {
        s.caption
        for platform in PLATFORM_RULES
        for tone in TONE_RULES
        for seed in range(4)
        for s in OfflineRefiner().refine(
            RefineRequest(captions={}, tags=(), platform=platform, tone=tone, count=3, seed=seed)
        )
    }
    assert any("this view" in c for c in captions)
    assert not [c for c in captions if "this shot of this view" in c]
