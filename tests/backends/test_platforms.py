import random

import pytest

from captions import platforms
from captions.backends.base import Suggestion
from captions.hashtags import clean_hashtag, dedupe_hashtags
from captions.platforms import (
    PLATFORM_RULES,
    PLATFORMS,
    TONES,
    compose_post,
    enforce,
    violations,
)

ALL_PLATFORMS = list(PLATFORM_RULES)


def test_choices_are_key_label_pairs_for_forms():
    assert dict(PLATFORMS) == {
        "instagram": "Instagram",
        "x": "X (Twitter)",
        "linkedin": "LinkedIn",
        "tiktok": "TikTok",
        "general": "General",
    }
    assert [key for key, _ in TONES] == ["casual", "funny", "professional", "inspirational", "poetic"]


def test_platform_limits_match_the_published_rules():
    rules = {k: (p.min_hashtags, p.max_hashtags, p.max_length) for k, p in PLATFORM_RULES.items()}
    assert rules["instagram"] == (0, 5, 2200)
    assert rules["x"][2] == 280
    assert rules["linkedin"] == (3, 5, 3000)
    assert rules["tiktok"] == (0, 5, 4000)
    assert rules["general"][1] == 15


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("# Sunset Vibes!", "#SunsetVibes"),
        ("#sunset", "#sunset"),
        ("sunset", "#sunset"),
        ("golden hour", "#GoldenHour"),
        ("#a-b", None),  # one-letter pieces joined make no word
        ("#e-mail", None),
        ("#photo-day", "#PhotoDay"),
        ("#SUNSET", "#sunset"),  # one word: lower case
        ("#Sunset", "#sunset"),
        ("#sunsetVibes", "#SunsetVibes"),  # several words: CamelCase
        ("#CatsOfInstagram", "#CatsOfInstagram"),
        ("#kid's party", "#KidsParty"),
        ("#tag_1", "#tag_1"),
        ("#2024vibes", "#2024vibes"),
        ("#sunset\U0001f305", "#sunset"),
        ("#\u202eevil", "#evil"),
        ("#zero\u200bwidth", "#zerowidth"),
        ("#Café", "#café"),
        ("#東京", "#東京"),
        ("#नमस्ते", "#नमस्ते"),
        ("#\uff33\uff35\uff2e", "#sun"),  # full-width letters
        ("#", None),
        ("##", None),
        ("#123", None),
        ("#_", None),
        ("#\U0001f305", None),
        ("", None),
        ("#" + "a" * 40, "#" + "a" * 40),
        ("#" + "a" * 41, None),
    ],
)
def test_clean_hashtag(raw, expected):
    assert clean_hashtag(raw) == expected


def test_clean_hashtag_rejects_non_strings():
    assert clean_hashtag(None) is None  # type: ignore[arg-type]


def test_dedupe_is_case_insensitive_and_keeps_the_first_spelling():
    assert dedupe_hashtags(["#Sunset", "#beach", "#SUNSET", "#sunset", "#Beach"]) == ("#Sunset", "#beach")


def test_compose_post_puts_a_blank_line_between_caption_and_hashtags():
    post = compose_post(Suggestion("A cat.", ("#cat", "#sofa")), "instagram")
    assert post == "A cat.\n\n#cat #sofa"


def test_compose_post_on_x_uses_one_space():
    assert compose_post(Suggestion("A cat.", ("#cat",)), "x") == "A cat. #cat"


def test_compose_post_without_hashtags_is_just_the_caption():
    assert compose_post(Suggestion("A cat.", ()), "linkedin") == "A cat."


def test_unknown_platform_is_an_error():
    with pytest.raises(ValueError, match="Unknown platform"):
        enforce("myspace", Suggestion("hi", ()))
    assert violations("myspace", Suggestion("hi", ())) == ["unknown platform 'myspace'"]


def test_x_with_a_long_caption_is_cut_at_a_word_boundary():
    caption = "A very patient cat watching the sunset from the balcony " * 10
    result = enforce("x", Suggestion(caption, ("#cat",)))
    post = compose_post(result, "x")
    assert len(post) <= 280
    assert result.caption.endswith("…")
    assert caption.startswith(result.caption[:-1])
    assert result.caption[:-1].split()[-1] in caption.split()  # no half words
    assert violations("x", result) == []


def test_x_shortens_the_caption_before_dropping_hashtags():
    caption = "A cat watching the sunset from the balcony, " * 6 + "x" * 20
    result = enforce("x", Suggestion(caption, ("#cat", "#sunset", "#balcony")))
    assert result.hashtags == ("#cat", "#sunset", "#balcony")
    assert result.caption.endswith("…")
    assert len(compose_post(result, "x")) <= 280


def test_a_single_long_word_is_cut_hard():
    result = enforce("x", Suggestion("a" * 400, ()))
    assert result.caption == "a" * 278 + "…"  # X counts the ellipsis as 2.
    assert enforce("instagram", Suggestion("a" * 2300, ())).caption == "a" * 2199 + "…"
    assert violations("x", result) == []


def test_linkedin_with_too_few_hashtags_keeps_what_exists():
    result = enforce("linkedin", Suggestion("Team offsite.", ("#teamwork",)))
    assert result.hashtags == ("#teamwork",)
    assert violations("linkedin", result) == ["1 hashtags; LinkedIn takes 3 to 5"]


def test_linkedin_filler_tops_up_to_the_minimum_only():
    result = enforce(
        "linkedin",
        Suggestion("Team offsite.", ("#teamwork",)),
        filler=["#TEAMWORK", "#Leadership", "#Growth", "#More"],
    )
    assert result.hashtags == ("#teamwork", "#leadership", "#growth")
    assert violations("linkedin", result) == []


def test_linkedin_keeps_its_hashtags_when_the_caption_is_too_long():
    result = enforce("linkedin", Suggestion("word " * 1000, ("#a1", "#b2", "#c3", "#d4", "#e5")))
    assert len(result.hashtags) == 5
    assert result.caption.endswith("…")
    assert len(compose_post(result, "linkedin")) <= 3000
    assert violations("linkedin", result) == []


def test_duplicates_differing_in_case_are_dropped():
    result = enforce("instagram", Suggestion("Sun.", ("#Sunset", "#sunset", "#SUNSET", "sunset", "#beach")))
    assert result.hashtags == ("#sunset", "#beach")


def test_broken_hashtags_are_cleaned_or_dropped():
    raw = ("#", "##", "#123", "#a-b", "#\U0001f305", "#ok\u202egood", "# Sunset Vibes!", "#one #two")
    result = enforce("general", Suggestion("Evening.", raw))
    assert result.hashtags == ("#okgood", "#SunsetVibes", "#one", "#two")
    assert violations("general", result) == []


def test_instagram_keeps_at_most_five_hashtags_in_order():
    tags = tuple(f"#tag{i}" for i in range(12))
    assert enforce("instagram", Suggestion("Hi.", tags)).hashtags == tags[:5]


def test_general_keeps_at_most_fifteen_hashtags():
    tags = tuple(f"#tag{i}" for i in range(30))
    assert len(enforce("general", Suggestion("Hi.", tags)).hashtags) == 15


def test_hashtags_written_in_the_caption_count_towards_the_limit():
    result = enforce(
        "instagram", Suggestion("Loving this #sunset at the #beach, we're #1!", ("#a", "#b", "#c", "#d"))
    )
    assert result.caption == "Loving this sunset at the beach, we're #1!"
    assert result.hashtags == ("#a", "#b", "#c", "#d", "#sunset")
    assert violations("instagram", result) == []


def test_bidi_overrides_and_control_characters_leave_the_caption():
    result = enforce("instagram", Suggestion("Click \u202egnp.exe\u202c now\x07\r\nok  then", ()))
    assert result.caption == "Click gnp.exe now\nok then"


def test_enforce_is_idempotent():
    once = enforce("x", Suggestion("Long words here " * 40, ("#Cat", "#cat", "#dog", "#sun", "#sea")))
    assert enforce("x", once) == once


def test_violations_lists_every_problem():
    bad = Suggestion("", ("#ok", "#OK", "#a-b", *(f"#t{i}" for i in range(5))))
    problems = violations("instagram", bad)
    assert "the caption is empty" in problems
    assert "invalid hashtag '#a-b'" in problems
    assert "duplicate hashtags" in problems
    assert "8 hashtags; Instagram takes 0 to 5" in problems


def test_violations_reports_a_post_over_the_limit():
    assert violations("x", Suggestion("a" * 281, ())) == ["281 characters; X (Twitter) allows 280"]


@pytest.mark.parametrize("platform", ALL_PLATFORMS)
def test_enforce_never_returns_a_post_over_the_limit(platform):
    rng = random.Random(platform)
    words = ["sun", "Straße", "東京", "emoji\U0001f305", "#tag", "long" * 8, "\u202eodd", "\n", "word"]
    limit = PLATFORM_RULES[platform].max_length
    for _ in range(200):
        caption = " ".join(rng.choice(words) for _ in range(rng.randint(0, limit // 3)))
        tags = [
            rng.choice(["#", "#x" * rng.randint(1, 25), "#Good", "#good", "#a-b", "#123"]) for _ in range(20)
        ]
        result = enforce(
            platform, Suggestion(caption, tuple(tags)), filler=PLATFORM_RULES[platform].generic_hashtags
        )
        assert len(compose_post(result, platform)) <= limit
        problems = [p for p in violations(platform, result) if p != "the caption is empty"]
        assert problems == []


def test_language_names_for_the_prompt():
    assert platforms.language_name("de") == "German"
    assert platforms.language_name("xx") == "xx"
