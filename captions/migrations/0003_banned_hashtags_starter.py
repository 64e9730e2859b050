"""A starter list of banned hashtags: engagement bait, spam and explicit tags.

Staff extend and edit the list in the admin. Exact words match whole,
ignoring case and underscores; patterns are searched in the word, ignoring case.
"""

from django.db import migrations

ENGAGEMENT_BAIT = "Engagement bait"
SPAM = "Spam"
EXPLICIT = "Explicit or abusive"

STARTER = [
    # (text, kind, note)
    ("follow4follow", "exact", ENGAGEMENT_BAIT),
    ("like4like", "exact", ENGAGEMENT_BAIT),
    ("followforfollow", "exact", ENGAGEMENT_BAIT),
    ("likeforlike", "exact", ENGAGEMENT_BAIT),
    ("f4f", "exact", ENGAGEMENT_BAIT),
    ("l4l", "exact", ENGAGEMENT_BAIT),
    ("followback", "exact", ENGAGEMENT_BAIT),
    ("followme", "exact", ENGAGEMENT_BAIT),
    ("teamfollowback", "exact", ENGAGEMENT_BAIT),
    ("tagsforlikes", "exact", ENGAGEMENT_BAIT),
    # follow4follow, like2like, likesforfollow, sub4sub, shoutout4shoutout, follow4followback, …
    (
        r"^(follow|like|sub|comment|share|shoutout)s?\d*(4|for|2|to)\d*(follow|like|sub|comment|share|shoutout)s?(back)?$",
        "pattern",
        ENGAGEMENT_BAIT,
    ),
    # f4f, l4l, s4s, f4l, l4f
    (r"^[fls]4[fls]$", "pattern", ENGAGEMENT_BAIT),
    # followtrain, liketrain, followall
    (r"^(follow|like)s?(train|all)$", "pattern", ENGAGEMENT_BAIT),
    # buyfollowers, freelikes, getfollowers, cheapviews
    (r"^(buy|free|get|cheap)(insta)?(followers|likes|views|subscribers)$", "pattern", SPAM),
    ("porn", "exact", EXPLICIT),
    ("xxx", "exact", EXPLICIT),
    ("nsfw", "exact", EXPLICIT),
    ("nudes", "exact", EXPLICIT),
    ("onlyfans", "exact", EXPLICIT),
    ("kys", "exact", EXPLICIT),
    ("killyourself", "exact", EXPLICIT),
]


def add_starter_list(apps, schema_editor):
    BannedHashtag = apps.get_model("captions", "BannedHashtag")
    for text, kind, note in STARTER:
        BannedHashtag.objects.get_or_create(text=text, kind=kind, defaults={"note": note})


def remove_starter_list(apps, schema_editor):
    BannedHashtag = apps.get_model("captions", "BannedHashtag")
    for text, kind, _note in STARTER:
        BannedHashtag.objects.filter(text=text, kind=kind).delete()


class Migration(migrations.Migration):
    dependencies = [("captions", "0002_moderation_queue")]

    operations = [migrations.RunPython(add_starter_list, remove_starter_list)]
