"""How good the words are: the quality set through the tagger, the people
detector and both writers (offline, and the OpenAI refiner against a scripted
fake server), then the one order of post-processing every job uses.

Prints, per photo, every generated sentence so a reader can judge the English,
then: concept hit rate in tags, in captions and in hashtags; platform
violations (must be 0); banned-hashtag leaks (must be 0) and how many banned
tags were counted; share of generic filler hashtags; variety across three
regenerations. Caption models run only when their weights are on disk
(``--captioner local``); by default the bench measures the out-of-the-box case
with no caption weights: tags and people only.

The set is split three ways, reported apart (``group`` in the results): the
first half of the original photos in alphabetical order (``tuning``: the
confidence and scene rules were tuned on these), the second half (``check``),
and photos added after tuning (``held-out``, ``"held_out": true`` in set.json).
``--only GROUP`` runs one group.

    python -m bench.quality [--every-sentence] [--only tuning|check|held-out]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

from bench.common import machine, percentile, print_table, write_results

HERE = Path(__file__).resolve().parent / "quality"
SET = json.loads((HERE / "set.json").read_text())
GROUPS = ("tuning", "check", "held-out")


def photo_groups(photos: list[dict]) -> dict[str, str]:
    """file -> group: alphabetical halves of the original photos, then the held-out ones."""
    original = sorted(p["file"] for p in photos if not p.get("held_out"))
    half = (len(original) + 1) // 2
    groups = {file: ("tuning" if i < half else "check") for i, file in enumerate(original)}
    groups.update({p["file"]: "held-out" for p in photos if p.get("held_out")})
    return groups


GROUP_OF = photo_groups(SET["photos"])
PLATFORMS = ("instagram", "x", "linkedin", "tiktok", "general")
TONES = ("casual", "funny", "professional", "inspirational", "poetic")
# The bench's banned list; the scripted LLM replies carry these.
BANNED = ("spam", "followforfollow", "like4like")
PEOPLE_SECONDS: list[float] = []  # the people detector's time per photo (one image, one thread)
PEOPLE_LOAD_SECONDS: list[float] = []
TAGGER_SECONDS: list[float] = []  # classifier and scene words, one photo, one thread
SCENE_SECONDS: list[float] = []  # the scene words alone


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hashtagapp.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("ENV_FILE", "/dev/null")
    import django

    django.setup()


def is_banned(tag: str) -> bool:
    word = tag.lstrip("#").casefold()
    return word in BANNED or word.replace("_", "") in BANNED


def generic_hashtags() -> set[str]:
    from captions import platforms
    from captions.backends import offline_vocabulary

    generic = {t.casefold() for p in platforms.PLATFORM_RULES.values() for t in p.generic_hashtags}
    generic |= {t.casefold() for tags in offline_vocabulary.TONE_HASHTAGS.values() for t in tags}
    return generic


def words(texts: list[str]) -> set[str]:
    """The words of captions and hashtags; CamelCase hashtags split into words."""
    found: set[str] = set()
    for text in texts:
        spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)
        found |= {w.casefold() for w in re.findall(r"[A-Za-z]+", spaced)}
    return found


def hits(concepts: list[str], texts: list[str]) -> bool:
    """Whether any concept is named: a word equal to it, its plural, or a
    compound hashtag starting with it (#coffeetime names coffee)."""
    found = words(texts)
    return any(
        w == c or w in (c + "s", c + "es") or (len(c) >= 3 and w.startswith(c))
        for c in (c.casefold() for c in concepts)
        for w in found
    )


def scripted_replies(tags: list[str]) -> list[str]:
    """What the scripted LLM answers for one photo, in the shapes real servers
    use: fenced JSON, leading prose, banned tags, an over-long post, "#a-b"."""
    words = [t.replace(" ", "") for t in tags[:3]] or ["photo"]
    variants = [
        {
            "caption": f"A look at this {tags[0] if tags else 'scene'}, shared as it is. "
            + "More words. " * n,
            "hashtags": [f"#{w}" for w in words] + ["#spam", "#follow_for_follow", "#a-b", "#photo-day"],
        }
        for n in (0, 3, 30)
    ]
    body = json.dumps({"variants": variants})
    return [f"```json\n{body}\n```", f"Sure! Here are your captions:\n{body}", body]


def run_set(*, write, tagged: dict, captions: dict, photos: list[dict], runs: int = 3) -> dict:
    """``write(request, run) -> (suggestions, banned dropped, LLM hit)`` for every photo and option."""
    from captions import platforms
    from captions.backends.base import RefineRequest

    generic = generic_hashtags()
    rows, sentences, distinct = [], [], {}
    totals = {"posts": 0, "violations": 0, "leaks": 0, "hashtags": 0, "generic": 0}
    fresh, seen_total = 0, 0
    for i, photo in enumerate(photos):
        seen = tagged[photo["file"]]
        tags, people = seen["tags"], seen["people"]
        shown_platform, shown_tone = PLATFORMS[i % 5], TONES[(i // 5) % 5]
        hashtags_all, captions_all = [], []
        photo_generic = 0
        for platform in PLATFORMS:
            for tone in TONES:
                by_run = []
                for run in range(runs if (platform, tone) == (shown_platform, shown_tone) else 1):
                    request = RefineRequest(
                        captions=captions.get(photo["file"], {}),
                        tags=tuple(tags),
                        people=tuple(people),
                        platform=platform,
                        tone=tone,
                        seed=1000 * i + run,  # as a job seeds with its id: each run its own
                    )
                    suggestions, _, _ = write(request, run)
                    by_run.append([s.caption for s in suggestions])
                    for s in suggestions:
                        totals["posts"] += 1
                        totals["violations"] += bool(platforms.violations(platform, s))
                        totals["leaks"] += sum(is_banned(t) for t in s.hashtags)
                        totals["hashtags"] += len(s.hashtags)
                        totals["generic"] += sum(t.casefold() in generic for t in s.hashtags)
                        photo_generic += sum(t.casefold() in generic for t in s.hashtags)
                        hashtags_all.extend(s.hashtags)
                        captions_all.append(s.caption)
                        distinct.setdefault(s.caption, photo["file"])
                        if run == 0 and (platform, tone) == (shown_platform, shown_tone):
                            sentences.append((photo["file"], platform, tone, s.caption, " ".join(s.hashtags)))
                if len(by_run) > 1:
                    first = set(by_run[0])
                    for later in by_run[1:]:
                        fresh += sum(c not in first for c in later)
                        seen_total += len(later)
        rows.append(
            {
                "photo": photo["file"],
                "group": GROUP_OF[photo["file"]],
                "kind": photo["kind"],
                "tags": tags,
                "people": people,
                "tags_hit": hits(photo["concepts"], [*tags, *people]),
                "captions_hit": hits(photo["concepts"], captions_all),
                "hashtags_hit": hits(photo["concepts"], hashtags_all),
                "hashtags": len(hashtags_all),
                "generic": photo_generic,
            }
        )
    n = len(rows)
    members_of = {group: [r for r in rows if r["group"] == group] for group in GROUPS}
    members_of["original (tuning + check)"] = members_of["tuning"] + members_of["check"]
    by_group = {
        group: {
            "photos": len(members),
            "concept_in_tags": sum(r["tags_hit"] for r in members) / len(members),
            "concept_in_captions": sum(r["captions_hit"] for r in members) / len(members),
            "concept_in_hashtags": sum(r["hashtags_hit"] for r in members) / len(members),
            "generic_share": sum(r["generic"] for r in members) / max(1, sum(r["hashtags"] for r in members)),
        }
        for group, members in members_of.items()
        if members
    }
    return {
        "rows": rows,
        "groups": by_group,
        "sentences": sentences,
        "every_caption": sorted(distinct),
        "summary": {
            "photos": n,
            "posts": totals["posts"],
            "concept_in_tags": sum(r["tags_hit"] for r in rows) / n,
            "concept_in_captions": sum(r["captions_hit"] for r in rows) / n,
            "concept_in_hashtags": sum(r["hashtags_hit"] for r in rows) / n,
            "violations": totals["violations"],
            "banned_leaks": totals["leaks"],
            "generic_share": totals["generic"] / max(1, totals["hashtags"]),
            "new_captions_on_regenerate": fresh / max(1, seen_total),
        },
    }


def tag_photos(photos: list[dict]) -> dict[str, dict]:
    """Each photo through the tagger and the people detector, then the
    confidence rules, as a job does (``suggestion_rules.refine_inputs``)."""
    from django.conf import settings
    from PIL import Image

    from captions.backends.imagenet import load_tagger
    from captions.backends.people import load_people_detector
    from captions.backends.tag_lexicon import confident_tags

    tagger = load_tagger()
    started = time.perf_counter()
    detector = load_people_detector()  # importing OpenCV and reading both cascades
    PEOPLE_LOAD_SECONDS.append(time.perf_counter() - started)
    from captions.backends import scene

    tagged = {}
    for photo in photos:
        image = Image.open(HERE / "photos" / photo["file"]).convert("RGB")
        started = time.perf_counter()
        (tags,) = tagger.tag(
            [image], top_k=settings.CAPTIONS_TAGGER_TOP_K, min_score=settings.CAPTIONS_TAGGER_MIN_SCORE
        )
        TAGGER_SECONDS.append(time.perf_counter() - started)
        started = time.perf_counter()
        scene.describe(image)
        SCENE_SECONDS.append(time.perf_counter() - started)
        started = time.perf_counter()
        (people,) = detector.detect([image])
        PEOPLE_SECONDS.append(time.perf_counter() - started)
        tagged[photo["file"]] = {
            "tags": confident_tags([(t.label, t.score) for t in tags]),
            "raw": [(t.label, round(t.score, 3)) for t in tags],
            "people": list(people.words),
        }
    return tagged


def offline_writer():
    from captions.backends.offline_refiner import OfflineRefiner
    from captions.services.suggestion_rules import suggestions_finalise

    refiner = OfflineRefiner()

    def write(request, run):
        suggestions = refiner.refine(request)
        return suggestions_finalise(
            request=request, suggestions=suggestions, from_llm=False, is_banned=is_banned
        )

    return write


def llm_writer(fake):
    """The OpenAI refiner against the fake server answering with scripted
    replies, falling back to the offline writer as a job does."""
    from captions.backends.base import BackendError
    from captions.backends.offline_refiner import OfflineRefiner
    from captions.backends.openai_refiner import OpenAIRefiner
    from captions.hashtags import clean_hashtag
    from captions.services.suggestion_rules import suggestions_finalise

    refiner = OpenAIRefiner(api_key="sk-bench", base_url=fake.url, model="fake", timeout=5)
    stats = {"requests": 0, "fallbacks": 0, "raw_banned": 0, "counted_banned": 0}
    counter = {"n": 0}

    def write(request, run):
        replies = scripted_replies(list(request.tags) or list(request.people))
        reply = replies[counter["n"] % len(replies)]
        counter["n"] += 1
        fake.reset()
        fake.reply_next(reply)
        fake.reply_next(reply)
        stats["requests"] += 1
        try:
            suggestions, from_llm = refiner.refine(request), True
        except BackendError:
            stats["fallbacks"] += 1
            suggestions, from_llm = OfflineRefiner().refine(request), False
        if from_llm:
            stats["raw_banned"] += sum(
                is_banned(clean_hashtag(t) or "") for s in suggestions for t in s.hashtags
            )
        result = suggestions_finalise(
            request=request, suggestions=suggestions, from_llm=from_llm, is_banned=is_banned
        )
        if from_llm:
            stats["counted_banned"] += result[1]
        return result

    return write, stats


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--name", default="quality", help="results file name in bench/results/")
    parser.add_argument(
        "--every-sentence",
        action="store_true",
        help="also print every distinct caption the offline writer wrote (all platforms, tones, runs)",
    )
    parser.add_argument("--only", choices=GROUPS, help="run one group of the set")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE.parent.parent))
    _django()
    import torch

    from tests.fakes.openai_server import FakeOpenAIServer

    torch.set_num_threads(1)  # times below are for one core
    photos = [p for p in SET["photos"] if not args.only or GROUP_OF[p["file"]] == args.only]
    tagged = tag_photos(photos)
    offline = run_set(write=offline_writer(), tagged=tagged, captions={}, photos=photos)
    with FakeOpenAIServer() as fake:
        write, llm_stats = llm_writer(fake)
        llm = run_set(write=write, tagged=tagged, captions={}, photos=photos, runs=1)

    print("\nEvery sentence the offline writer wrote (first run, one platform and tone per photo):")
    for file, platform, tone, caption, hashtags in offline["sentences"]:
        print(f"  {file:18} {platform:9} {tone:13} {caption}  |  {hashtags}")
    if args.every_sentence:
        print(f"\nEvery distinct caption the offline writer wrote ({len(offline['every_caption'])}):")
        for caption in offline["every_caption"]:
            print(f"  {caption}")
    print_table(
        "Per photo (offline)",
        ["photo", "group", "kind", "tags", "in tags", "in captions", "in hashtags"],
        [
            [
                r["photo"],
                r["group"],
                r["kind"],
                ", ".join([*r["people"], *r["tags"]]) or "-",
                r["tags_hit"],
                r["captions_hit"],
                r["hashtags_hit"],
            ]
            for r in offline["rows"]
        ],
    )
    summary_rows = []
    for name, result in (("offline", offline), ("scripted LLM", llm)):
        s = result["summary"]
        summary_rows.append(
            [
                name,
                s["posts"],
                f"{s['concept_in_tags']:.0%}",
                f"{s['concept_in_captions']:.0%}",
                f"{s['concept_in_hashtags']:.0%}",
                s["violations"],
                s["banned_leaks"],
                f"{s['generic_share']:.0%}",
                f"{s['new_captions_on_regenerate']:.0%}",
            ]
        )
    print_table(
        "Summary",
        [
            "writer",
            "posts",
            "concept in tags",
            "in captions",
            "in hashtags",
            "violations",
            "banned leaks",
            "generic share",
            "new captions on regenerate",
        ],
        summary_rows,
    )
    print_table(
        "By group (offline)",
        ["group", "photos", "in tags", "in captions", "in hashtags", "generic share"],
        [
            [
                g,
                v["photos"],
                f"{v['concept_in_tags']:.0%}",
                f"{v['concept_in_captions']:.0%}",
                f"{v['concept_in_hashtags']:.0%}",
                f"{v['generic_share']:.0%}",
            ]
            for g, v in offline["groups"].items()
        ],
    )
    print(f"\nScripted LLM: {llm_stats}")
    people_timing = {
        "median_s": round(statistics.median(PEOPLE_SECONDS), 3),
        "p95_s": round(percentile(PEOPLE_SECONDS, 95), 3),
        "max_s": round(max(PEOPLE_SECONDS), 3),
        "load_s": round(PEOPLE_LOAD_SECONDS[0], 3),
    }
    print(f"People detector per photo (<= 640 px): {people_timing}")
    tagger_timing = {
        "median_s": round(statistics.median(TAGGER_SECONDS), 3),
        "p95_s": round(percentile(TAGGER_SECONDS, 95), 3),
        "max_s": round(max(TAGGER_SECONDS), 3),
        "scene_median_s": round(statistics.median(SCENE_SECONDS), 4),
        "scene_max_s": round(max(SCENE_SECONDS), 4),
    }
    print(f"Tagger with scene words per photo (one thread): {tagger_timing}")
    write_results(
        args.name,
        {
            "machine": machine(),
            "people_detector": people_timing,
            "tagger": tagger_timing,
            "seen": tagged,
            "offline": offline,
            "llm": {**llm, "stats": llm_stats},
        },
    )


if __name__ == "__main__":
    main()
