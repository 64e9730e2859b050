"""What goes into a refiner and what comes out of it: confident tags and people
words in, the one order (``captions.post_order``) with the banned list out."""

from __future__ import annotations

from captions.backends.base import RefineRequest
from captions.backends.base import Suggestion as SuggestionData
from captions.backends.offline_refiner import hashtag_candidates
from captions.backends.tag_lexicon import confident_tags
from captions.models import ModelCaption, Source
from captions.post_order import finalise
from captions.services.banned_hashtags import banned_hashtag_matcher


def refine_inputs(*, rows: dict[str, ModelCaption]) -> dict:
    """The tags worth naming (confidence rules applied to the tagger's scores)
    and the people detector's words, from a job's successful source rows."""
    tagger = rows.get(Source.TAGGER)
    scored = [(t["label"], float(t.get("score", 0))) for t in tagger.tags] if tagger else []
    people = rows.get(Source.PEOPLE)
    words = tuple(t["label"] for t in people.tags) if people else ()
    return {"tags": tuple(confident_tags(scored)), "people": words}


def suggestions_finalise(
    *, request: RefineRequest, suggestions: list[SuggestionData], from_llm: bool, is_banned=None
) -> tuple[list[SuggestionData], int, bool]:
    """Every refiner's output through the one order: clean, drop banned
    (counted), dedupe, fill from the photo's next-best hashtags, cap, shorten
    the caption before dropping hashtags. Returns (suggestions, banned dropped,
    whether the LLM produced a banned hashtag, which flags the photo)."""
    is_banned = is_banned or banned_hashtag_matcher()
    result = finalise(
        request.platform, suggestions, candidates=hashtag_candidates(request), is_banned=is_banned
    )
    return result.suggestions, result.dropped, from_llm and result.dropped > 0
