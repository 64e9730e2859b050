"""Which tags the writer may name: minimum score, near ties, families."""

from captions.backends.base import RefineRequest
from captions.backends.offline_refiner import OfflineRefiner
from captions.backends.tag_lexicon import MIN_SCORE, confident_tags


def test_a_tag_under_the_minimum_is_never_named():
    assert confident_tags([("daisy", 0.71), ("bee", 0.09)]) == ["daisy"]
    assert confident_tags([("rocket", 0.46), ("oil rig", 0.097)]) == ["rocket"]
    assert confident_tags([("go kart", MIN_SCORE - 0.01)]) == []


def test_a_weak_second_tag_beside_a_strong_first_is_dropped():
    # 0.154 passes the minimum, but beside 0.69 it is the classifier hedging.
    assert confident_tags([("soccer", 0.69), ("rugby", 0.154)]) == ["soccer"]


def test_near_ties_in_one_family_add_the_family():
    scored = [("scooter", 0.31), ("disc brake", 0.18), ("helmet", 0.05)]
    assert confident_tags(scored) == ["scooter", "motorbike", "disc brake"]


def test_a_family_stands_in_when_no_member_is_sure_enough():
    scored = [("scooter", 0.14), ("disc brake", 0.12), ("car", 0.04)]
    assert confident_tags(scored) == ["motorbike"]


def test_with_nothing_sure_there_is_nothing_to_name():
    assert confident_tags([("bubbles", 0.109), ("petri dish", 0.075)]) == []
    assert confident_tags([]) == []


def test_confidence_rules_reach_the_post(db):
    """What a job does: weak tags never reach the sentence or the hashtags."""
    from captions.services.suggestion_rules import refine_inputs
    from tests.factories import ModelCaptionFactory

    row = ModelCaptionFactory.build(
        source="tagger", tags=[{"label": "daisy", "score": 0.71}, {"label": "bee", "score": 0.09}]
    )
    inputs = refine_inputs(rows={"tagger": row})
    assert inputs == {"tags": ("daisy",), "people": ()}
    request = RefineRequest(captions={}, platform="general", tone="casual", count=5, **inputs)
    for suggestion in OfflineRefiner().refine(request):
        assert "bee" not in suggestion.caption.lower()
        assert "#bee" not in suggestion.hashtags
        assert "daisy" in suggestion.caption.lower()
