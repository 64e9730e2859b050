"""Post lengths as each platform counts them (captions/post_length.py); the browser's copy of
the rule is checked against the same samples in tests/browser/test_post_length_js.py."""

import pytest

from captions.backends.base import Suggestion
from captions.platforms import compose_post, enforce, violations
from captions.post_length import post_length, x_length

# (text, what X counts, what the other platforms count)
SAMPLES = [
    ("hello", 5, 5),
    ("See https://example.com/a/very/long/path?x=1 now", 4 + 23 + 4, 48),
    ("www.example.org and http://x.y", 23 + 5 + 23, 30),
    ("猫が好き", 8, 4),
    ("한국어 텍스트", 13, 7),
    ("👍🏽 ok", 2 + 3, 5),
    ("👨‍👩‍👧 family", 2 + 7, 12),
    ("🇫🇷 flag", 2 + 5, 7),
    ("café", 4, 4),
    ("cafe\u0301", 4, 4),  # Composed first, as X does.
    ("“quotes” – fine", 15, 15),
    ("…", 2, 1),  # X weighs the ellipsis as a heavy character.
    ("Line one\n\n#cat", 14, 14),
]


@pytest.mark.parametrize(("text", "x", "other"), SAMPLES)
def test_each_platform_counts_as_it_does(text, x, other):
    assert x_length(text) == x
    assert post_length(text, "x") == x
    for platform in ("instagram", "linkedin", "tiktok", "general"):
        assert post_length(text, platform) == other


@pytest.mark.parametrize(
    "caption",
    [
        "猫" * 200,  # 200 characters, 400 as X counts them
        "Sunset vibes 🌅🔥✨ " * 20,
        "Read more at https://example.com/" + "a" * 300 + " " + "word " * 40,
    ],
)
def test_posts_written_for_x_fit_x_as_x_counts_them(caption):
    result = enforce("x", Suggestion(caption=caption, hashtags=("#cat", "#sunset")))
    assert x_length(compose_post(result, "x")) <= 280
    assert violations("x", result) == []
    assert result.hashtags == ("#cat", "#sunset")  # The caption gave way, not the hashtags.


def test_a_post_over_x_s_weighted_limit_is_a_violation():
    post = Suggestion(caption="猫" * 141, hashtags=())
    assert violations("x", post) == ["282 characters; X (Twitter) allows 280"]
    assert violations("instagram", post) == []
