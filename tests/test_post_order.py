"""The one order every refiner's output goes through: clean, drop banned
(counted), dedupe, fill, cap, shorten the caption before dropping hashtags."""

import pytest

from captions.backends.base import Suggestion
from captions.hashtags import clean_hashtag
from captions.platforms import PLATFORM_RULES, compose_post, violations
from captions.post_order import finalise, is_generic

BANNED = {"#spam", "#followforfollow"}


def is_banned(tag: str) -> bool:
    return tag.casefold().replace("_", "") in BANNED


def test_on_x_a_banned_tag_is_counted_even_when_the_post_is_too_long():
    # Trimming for length used to drop "#spam" before the banned filter saw it: 0 counted.
    post = Suggestion("A very patient cat on the balcony. " * 12, ("#cat", "#sunset", "#balcony", "#spam"))
    result = finalise("x", [post], is_banned=is_banned)
    assert result.dropped == 1
    assert "#spam" not in result.suggestions[0].hashtags
    assert violations("x", result.suggestions[0]) == []


def test_on_instagram_banned_tags_are_replaced_by_the_next_best_valid_ones():
    # Capping to 5 first and dropping banned tags after used to leave 2 tags.
    post = Suggestion("Cat nap.", ("#spam", "#cat", "#follow_for_follow", "#nap", "#spam2"))
    result = finalise(
        "instagram", [post], candidates=["#cat", "#CatsOfInstagram", "#sofa", "#cozy"], is_banned=is_banned
    )
    assert result.dropped == 2
    assert result.suggestions[0].hashtags == ("#cat", "#nap", "#spam2", "#CatsOfInstagram", "#sofa")


def test_candidates_that_are_banned_never_fill_a_slot():
    post = Suggestion("Cat nap.", ("#spam", "#cat", "#nap"))
    result = finalise("instagram", [post], candidates=["#followforfollow", "#sofa"], is_banned=is_banned)
    assert result.suggestions[0].hashtags == ("#cat", "#nap", "#sofa")


def test_a_too_long_x_post_keeps_its_hashtags_and_shortens_its_caption():
    post = Suggestion("The light on the water this evening was unreal. " * 10, ("#sunset", "#lake", "#calm"))
    (result,) = finalise("x", [post]).suggestions
    assert result.hashtags == ("#sunset", "#lake", "#calm")
    assert result.caption.endswith("…")
    assert len(compose_post(result, "x")) <= 280


def test_cleaning_keeps_meaning():
    post = Suggestion("Hi.", ("#a-b", "#photo-day", "#Sunset", "# golden hour", "#SUNSET"))
    (result,) = finalise("general", [post]).suggestions
    assert result.hashtags == ("#PhotoDay", "#sunset", "#GoldenHour")
    assert clean_hashtag("#a-b") is None  # not the meaningless "#AB"


def test_duplicates_are_dropped_before_filling():
    post = Suggestion("Hi.", ("#cat", "#Cat", "#CAT"))
    (result,) = finalise("instagram", [post], candidates=["#sofa", "#nap"]).suggestions
    assert result.hashtags == ("#cat", "#sofa", "#nap")


def test_at_most_one_generic_hashtag_on_a_platform_with_five_or_fewer():
    post = Suggestion("Cat.", ("#cat", "#GoodVibes", "#everyday", "#PhotoOfTheDay", "#InstaGood"))
    (result,) = finalise("instagram", [post], candidates=["#CatLover", "#nap"]).suggestions
    assert sum(is_generic(t) for t in result.hashtags) == 1
    assert result.hashtags == ("#cat", "#GoodVibes", "#CatLover", "#nap")


def test_linkedin_may_use_more_generic_tags_only_to_reach_its_minimum():
    (result,) = finalise("linkedin", [Suggestion("Team offsite.", ("#teamwork",))]).suggestions
    assert len(result.hashtags) == 3
    assert violations("linkedin", result) == []


def test_one_casing_rule_for_every_hashtag():
    post = Suggestion("Hi.", ("#SUNSET", "#goldenHour", "#Beach", "#cats_of_instagram", "#CatsOfInstagram"))
    (result,) = finalise("general", [post]).suggestions
    assert result.hashtags == ("#sunset", "#GoldenHour", "#beach", "#cats_of_instagram", "#CatsOfInstagram")
    for tag in result.hashtags:
        assert clean_hashtag(tag) == tag


def test_hashtags_written_in_the_caption_are_checked_too():
    post = Suggestion("Loving this #sunset, #spam", ())
    result = finalise("instagram", [post], is_banned=is_banned)
    assert result.dropped == 1
    assert result.suggestions[0].hashtags == ("#sunset",)


@pytest.mark.parametrize("platform", list(PLATFORM_RULES))
def test_the_result_obeys_every_platform(platform):
    posts = [
        Suggestion("word " * 1200, tuple(f"#tag{i}" for i in range(25))),
        Suggestion("Short.", ("#spam", "#a-b", "##", "#ok")),
    ]
    result = finalise(platform, posts, candidates=["#cat", "#sofa", "#nap"], is_banned=is_banned)
    for suggestion in result.suggestions:
        assert violations(platform, suggestion) == []


def test_finalising_twice_changes_nothing():
    post = Suggestion("Long words here " * 40, ("#Cat", "#cat", "#dog", "#sun", "#sea"))
    once = finalise("x", [post], candidates=["#pet"]).suggestions
    assert finalise("x", once, candidates=["#pet"]).suggestions == once
