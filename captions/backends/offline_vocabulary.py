"""Word lists and phrasings for the offline composer (English only).

Kept apart from the composing code so the data can grow without the logic
moving. Templates take ``{Phrase}`` (the cleaned caption, capitalised),
``{phrase}`` (the same, mid-sentence), ``{subject}`` (the main object, "cat")
and ``{extra}`` (an object the caption does not mention; templates using it are
only picked when there is one).
"""

from __future__ import annotations

TEMPLATES: dict[str, tuple[str, ...]] = {
    "casual": (
        "{Phrase}. Just one of those days.",
        "Caught this today: {phrase}.",
        "{Phrase}, kind of perfect honestly.",
        "Nothing fancy, just {phrase}.",
        "Current mood: {phrase}.",
        "Say hi to the {subject}!",
        "{Phrase}, with a cameo from the {extra}.",
    ),
    "funny": (
        "{Phrase}. No further questions.",
        "Plot twist: {phrase}.",
        "Breaking news: {phrase}. More at eleven.",
        "Can't talk right now, busy appreciating {phrase}.",
        "Rating this {subject} 11/10, would look again.",
        "{Phrase}. The {subject} has no idea it's famous now.",
        "Me, pretending to be a photographer: {phrase}.",
        "{Phrase}. The {extra} was not consulted.",
    ),
    "professional": (
        "Captured: {phrase}.",
        "{Phrase}. Attention to detail makes the difference.",
        "A recent shot: {phrase}.",
        "{Phrase}, a reminder that good composition starts with noticing.",
        "Sharing a moment from today: {phrase}.",
        "{Phrase}, with the {extra} completing the scene.",
    ),
    "inspirational": (
        "{Phrase}. Find beauty in the everyday.",
        "Every picture tells a story: {phrase}.",
        "{Phrase}. Slow down and notice the little things.",
        "Let this be your sign to pause: {phrase}.",
        "{Phrase}. Good things are everywhere when you look.",
        "{Phrase}. Even the {extra} has its place in the story.",
    ),
    "poetic": (
        "{Phrase}, held still in a single frame.",
        "Where the light lingers: {phrase}.",
        "{Phrase}, a quiet verse the day wrote.",
        "In the hush of the moment, {phrase}.",
        "The {subject} and the light, keeping each other company.",
        "Soft as a secret: {phrase}.",
        "{Phrase}; beside it, the {extra}, quietly.",
    ),
}

# Used when there is nothing to describe: no caption and no tag survived.
FALLBACK_PHRASE = "a moment worth keeping"

# Phrases vision captioners put in front of the real content.
LEADING_FILLERS = (
    "there are ",
    "there is ",
    "this is ",
    "an image of ",
    "a picture of ",
    "a photo of ",
    "a photograph of ",
    "an photo of ",
    "image of ",
    "picture of ",
    "photo of ",
)

TONE_HASHTAGS: dict[str, tuple[str, ...]] = {
    "casual": ("#goodvibes", "#everyday"),
    "funny": ("#funny", "#lol"),
    "professional": ("#photography", "#details"),
    "inspirational": ("#inspiration", "#motivation"),
    "poetic": ("#poetry", "#quietmoments"),
}

# Popular companions for broad object tags. "ofinstagram" tags are rewritten
# for TikTok ("oftiktok") and dropped elsewhere, where they would look odd.
COMPANIONS: dict[str, tuple[str, ...]] = {
    "cat": ("#catsofinstagram", "#catlover", "#meow"),
    "kitten": ("#catsofinstagram", "#kittens", "#catlover"),
    "dog": ("#dogsofinstagram", "#doglover", "#puppylove"),
    "puppy": ("#dogsofinstagram", "#puppylove", "#doglover"),
    "bird": ("#birdphotography", "#birdwatching"),
    "horse": ("#horsesofinstagram", "#equestrian"),
    "fish": ("#aquarium", "#underwater"),
    "food": ("#foodie", "#foodphotography", "#yum"),
    "pizza": ("#foodie", "#pizzalover"),
    "burger": ("#foodie", "#burgerlover"),
    "cake": ("#dessert", "#baking"),
    "dessert": ("#sweettooth", "#foodie"),
    "fruit": ("#healthyfood", "#fresh"),
    "coffee": ("#coffeetime", "#coffeelover", "#butfirstcoffee"),
    "tea": ("#teatime", "#tealover"),
    "wine": ("#winetime", "#winelover"),
    "beer": ("#craftbeer", "#cheers"),
    "beach": ("#beachlife", "#oceanview", "#summervibes"),
    "sea": ("#oceanview", "#seascape"),
    "ocean": ("#oceanview", "#seascape"),
    "mountain": ("#mountainview", "#hiking", "#naturelovers"),
    "lake": ("#lakelife", "#naturelovers"),
    "forest": ("#forestbathing", "#naturelovers"),
    "tree": ("#naturelovers", "#treehugger"),
    "flower": ("#flowerpower", "#bloom", "#gardenlove"),
    "garden": ("#gardenlove", "#plants"),
    "plant": ("#plantlover", "#urbanjungle"),
    "sunset": ("#sunsetlovers", "#goldenhour", "#skyporn"),
    "sky": ("#skylovers", "#cloudporn"),
    "snow": ("#winterwonderland", "#snowday"),
    "car": ("#carsofinstagram", "#carlifestyle"),
    "sports car": ("#carsofinstagram", "#supercar", "#carspotting"),
    "motorcycle": ("#bikelife", "#motorcycle"),
    "bicycle": ("#cycling", "#bikelife"),
    "boat": ("#boatlife", "#sailing"),
    "airplane": ("#aviation", "#travel"),
    "train": ("#trainspotting", "#railway"),
    "city": ("#citylife", "#urbanphotography"),
    "building": ("#architecture", "#architecturephotography"),
    "bridge": ("#architecture", "#cityscape"),
    "street": ("#streetphotography", "#citylife"),
    "person": ("#portrait", "#people"),
    "people": ("#people", "#streetphotography"),
    "baby": ("#babylove", "#family"),
    "book": ("#bookstagram", "#booklover"),
    "laptop": ("#workspace", "#productivity"),
    "computer": ("#workspace", "#tech"),
    "phone": ("#tech", "#gadgets"),
    "guitar": ("#guitar", "#music"),
    "ball": ("#sports", "#game"),
    "surfboard": ("#surfing", "#surflife"),
    "skateboard": ("#skateboarding", "#skatelife"),
    "sofa": ("#homedecor", "#cozy"),
    "couch": ("#homedecor", "#cozy"),
    "bed": ("#cozy", "#bedroom"),
    "kitchen": ("#homecooking", "#kitchen"),
    "shoe": ("#sneakers", "#style"),
    "dress": ("#fashion", "#ootd"),
}

# Words that make poor hashtags: function words, and verbs and adjectives that
# captioners use a lot ("a white cat sitting on a large bed").
_WORDS = """
    a about above across after against all along also am among an and another any are around as at away
    back be because been before behind being below beneath beside besides between beyond both but by can
    could did do does doing down during each either else even every few for from front further had has
    have having he her here hers him his how i if in inside into is it its itself just like many me more
    most much my near nearby neither next no nor not now of off on once one only onto or other our ours
    out outside over own per same she should since so some such than that the their theirs them then
    there these they this those through throughout to together too toward towards under underneath until
    up upon us very via was we were what when where which while who whom whose why will with within
    without would yet you your yours
    two three four five six seven eight nine ten several lots lot bunch group couple pair pile row set
    top bottom side middle background foreground edge corner left right view image picture photo
    photograph close closeup shot scene something someone thing things stuff kind sort type
    sitting standing laying lying holding looking walking running sits stands lays lies holds looks
    walks runs posing poses wearing wears playing plays eating eats drinking drinks getting gets going
    goes made make making taken take taking using uses used covered filled parked stacked hanging hangs
    flying flies riding rides shown seen showing shows displayed placed filled topped containing
    large small big little huge tiny tall short long old young new white black red blue green yellow
    brown gray grey pink purple dark light bright colorful different various full empty open closed
    many very nice good great beautiful pretty cute other same first last single whole half
    arafed araffe arafly
"""
STOPWORDS = frozenset(_WORDS.split())
