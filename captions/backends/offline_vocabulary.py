"""Word lists and phrasings for the offline composer (English only).

Kept apart from the composing code so the data can grow without the logic
moving. Hashtags follow the one casing rule (``hashtags.clean_hashtag``):
single words lower case, several words in CamelCase.
"""

from __future__ import annotations

# (shape, kinds, text). ``kinds`` limits a template to subjects it reads well
# with ("" for any); the three variants of one run take different shapes.
# Placeholders: {a}/{A} the subject with its article ("a cat", "coffee",
# "a cat and a sofa"), {the}/{The} ("the cat"), {is} and {has} agreeing with it,
# {its} ("it's"/"they're"), {star} ("star"/"stars": "the cat and the sofa are the stars").
Template = tuple[str, str, str]
ANY = ""
ANIMALS = "animal"
FOODS = "food"
PLACES = "place"
THINGS = "food vehicle thing activity"
NOT_PEOPLE = "animal food vehicle thing plant activity place event scene view"
# Every subject but "this view" (the subject when nothing is sure): "this shot of this view".
NOT_A_VIEW = "people animal food vehicle thing plant activity place event scene"

TEMPLATES: dict[str, tuple[Template, ...]] = {
    "casual": (
        ("fragment", ANY, "Nothing fancy, just {a}."),
        ("colon", ANY, "Today's highlight: {a}."),
        ("two", ANY, "{The} {is} the {star} of this one. No notes."),
        ("statement", ANY, "{A}, and honestly, that's the whole post."),
        ("question", THINGS, "Who else could look at {a} all day?"),
        ("exclaim", ANIMALS, "Say hi to {the}!"),
        ("exclaim", PLACES, "Take me back to {the}!"),
        ("statement", FOODS, "{A}, and nothing else matters right now."),
        ("statement", "people", "{A}, and the moment was just right."),
    ),
    "funny": (
        ("two", ANY, "{A}. No further questions."),
        ("colon", ANY, "Plot twist: {a}."),
        ("two", ANY, "Breaking news: {a}. More at eleven."),
        ("statement", NOT_PEOPLE, "Rating {the} 11/10, would look again."),  # never rate people
        ("question", "food activity", "Is it even a weekend without {a}?"),
        ("exclaim", ANIMALS, "{The} {has} no idea {its} famous now!"),
        ("colon", FOODS, "My only plan for today: {a}."),
        ("statement", PLACES, "Me, pretending to be a travel photographer at {the}."),
    ),
    "professional": (
        ("colon", ANY, "Captured: {a}."),
        ("two", ANY, "{A}. Attention to detail makes the difference."),
        ("statement", ANY, "Sharing a recent shot of {a}."),
        ("question", NOT_A_VIEW, "What do you notice first in this shot of {a}?"),
        ("two", ANY, "{The} {is} the focus of this frame. Simple composition, clear subject."),
        ("statement", PLACES, "A closer look at {the}, worth the visit."),
        ("statement", FOODS, "{A}, presented with care."),
    ),
    "inspirational": (
        ("two", ANY, "{A}. Find beauty in the everyday."),
        ("colon", ANY, "Every picture tells a story: {a}."),
        ("two", ANY, "{A}. Slow down and notice the little things."),
        ("colon", ANY, "Let this be your sign to pause: {a}."),
        ("question", ANY, "When did you last stop to look at {a}?"),
        ("two", PLACES, "Some places stay with you, like {the}."),
    ),
    "poetic": (
        ("statement", ANY, "{A}, held still in a single frame."),
        ("colon", ANY, "Where the light lingers: {a}."),
        ("two", ANY, "{A}. A quiet verse the day wrote."),
        ("fragment", ANY, "In the hush of the moment, {a}."),
        ("question", ANY, "What does the light remember of {the}?"),
        ("colon", ANY, "Soft as a secret: {a}."),
    ),
}

# Templates that suit one platform only, added to the tone's own.
PLATFORM_TEMPLATES: dict[tuple[str, str], tuple[Template, ...]] = {
    ("instagram", "casual"): (("question", ANY, "Double tap if you'd stop for {a} too."),),
    ("tiktok", "casual"): (("colon", NOT_PEOPLE, "POV: you just found {a}."),),
    ("tiktok", "funny"): (("colon", ANY, "POV: {a}, zero context."),),
    ("linkedin", "professional"): (("two", ANY, "{A}. Small details like these are what make the work."),),
    ("linkedin", "inspirational"): (("two", ANY, "{A}. Progress often starts with paying attention."),),
    ("x", "casual"): (("fragment", ANY, "Just {a}. That's it. That's the tweet."),),
}

# Phrases vision captioners put in front of the real content.
LEADING_FILLERS = (
    "a close up of ",
    "a closeup of ",
    "close up of ",
    "a close - up of ",
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

# Generic hashtags: at most one of these on a platform that takes five or fewer.
TONE_HASHTAGS: dict[str, tuple[str, ...]] = {
    "casual": ("#GoodVibes", "#everyday"),
    "funny": ("#funny", "#lol"),
    "professional": ("#photography", "#details"),
    "inspirational": ("#inspiration", "#motivation"),
    "poetic": ("#poetry", "#QuietMoments"),
}

# People words from the people detector, and their hashtags.
PEOPLE_HASHTAGS: dict[str, tuple[str, ...]] = {
    "portrait": ("#portrait", "#PortraitPhotography"),
    "person": ("#people", "#candid"),
    "two people": ("#people", "#candid"),
    "group": ("#people", "#GroupPhoto"),
}

# Popular companions for broad object tags. "OfInstagram" tags are rewritten
# for TikTok ("OfTikTok") and dropped elsewhere, where they would look odd.
COMPANIONS: dict[str, tuple[str, ...]] = {
    "cat": ("#CatsOfInstagram", "#CatLover", "#meow"),
    "kitten": ("#CatsOfInstagram", "#kittens", "#CatLover"),
    "dog": ("#DogsOfInstagram", "#DogLover", "#PuppyLove"),
    "puppy": ("#DogsOfInstagram", "#PuppyLove", "#DogLover"),
    "bird": ("#BirdPhotography", "#BirdWatching"),
    "horse": ("#HorsesOfInstagram", "#equestrian"),
    "fish": ("#aquarium", "#underwater"),
    "food": ("#foodie", "#FoodPhotography", "#yum"),
    "pizza": ("#foodie", "#PizzaLover"),
    "burger": ("#foodie", "#BurgerLover"),
    "cake": ("#dessert", "#baking"),
    "dessert": ("#SweetTooth", "#foodie"),
    "fruit": ("#HealthyFood", "#fresh"),
    "coffee": ("#CoffeeTime", "#CoffeeLover", "#ButFirstCoffee"),
    "tea": ("#TeaTime", "#TeaLover"),
    "wine": ("#WineTime", "#WineLover"),
    "beer": ("#CraftBeer", "#cheers"),
    "beach": ("#BeachLife", "#OceanView", "#SummerVibes"),
    "sea": ("#OceanView", "#seascape"),
    "ocean": ("#OceanView", "#seascape"),
    "mountain": ("#MountainView", "#hiking", "#NatureLovers"),
    "lake": ("#LakeLife", "#NatureLovers"),
    "forest": ("#ForestBathing", "#NatureLovers"),
    "tree": ("#NatureLovers", "#TreeHugger"),
    "flower": ("#FlowerPower", "#bloom", "#GardenLove"),
    "garden": ("#GardenLove", "#plants"),
    "plant": ("#PlantLover", "#UrbanJungle"),
    "sunset": ("#SunsetLovers", "#GoldenHour", "#SkyLovers"),
    "sky": ("#SkyLovers", "#CloudLovers"),
    "night sky": ("#astrophotography", "#StarGazing"),
    "night": ("#NightPhotography", "#AfterDark"),
    "black and white": ("#monochrome", "#BlackAndWhitePhotography"),
    "snow": ("#WinterWonderland", "#SnowDay"),
    "car": ("#CarsOfInstagram", "#CarLifestyle"),
    "sports car": ("#CarsOfInstagram", "#supercar", "#CarSpotting"),
    "motorcycle": ("#BikeLife", "#motorcycle"),
    "bicycle": ("#cycling", "#BikeLife"),
    "boat": ("#BoatLife", "#sailing"),
    "airplane": ("#aviation", "#travel"),
    "train": ("#TrainSpotting", "#railway"),
    "city": ("#CityLife", "#UrbanPhotography"),
    "building": ("#architecture", "#ArchitecturePhotography"),
    "bridge": ("#architecture", "#cityscape"),
    "street": ("#StreetPhotography", "#CityLife"),
    "person": ("#people", "#candid"),
    "people": ("#people", "#StreetPhotography"),
    "baby": ("#BabyLove", "#family"),
    "book": ("#bookstagram", "#BookLover"),
    "laptop": ("#workspace", "#productivity"),
    "computer": ("#workspace", "#tech"),
    "phone": ("#tech", "#gadgets"),
    "guitar": ("#guitar", "#music"),
    "ball": ("#sports", "#game"),
    "surfboard": ("#surfing", "#SurfLife"),
    "skateboard": ("#skateboarding", "#SkateLife"),
    "sofa": ("#HomeDecor", "#cozy"),
    "couch": ("#HomeDecor", "#cozy"),
    "bed": ("#cozy", "#bedroom"),
    "kitchen": ("#HomeCooking", "#kitchen"),
    "shoe": ("#sneakers", "#style"),
    "dress": ("#fashion", "#ootd"),
    "portrait": ("#PortraitPhotography",),
    "motorbike": ("#BikeLife", "#MotorcycleLife"),
    "vegetables": ("#HealthyFood", "#fresh"),
    "insect": ("#MacroPhotography", "#insects"),
    "wildlife": ("#WildlifePhotography", "#NatureLovers"),
    "monkey": ("#WildlifePhotography",),
    "sea life": ("#underwater", "#OceanLife"),
    "architecture": ("#ArchitecturePhotography", "#travel"),
    "palace": ("#architecture", "#travel"),
    "castle": ("#architecture", "#travel"),
    "church": ("#architecture",),
    "shop": ("#ShopLocal", "#StreetPhotography"),
    "tech": ("#technology", "#electronics"),
    "nature": ("#landscape", "#NatureLovers"),
    "valley": ("#landscape", "#hiking"),
    "mountains": ("#landscape", "#MountainView"),
    "sport": ("#sports", "#GameDay"),
    "soccer": ("#football", "#sports"),
    "music": ("#MusicLovers",),
    "space": ("#space", "#astronomy"),
    "rocket": ("#space", "#launch"),
    "fashion": ("#style", "#ootd"),
    "flowers": ("#FlowerPower", "#bloom"),
    "daisy": ("#flowers", "#bloom"),
    "squirrel": ("#WildlifePhotography", "#NatureLovers"),
    "butterfly": ("#MacroPhotography", "#NatureLovers"),
    "ladybug": ("#MacroPhotography", "#insects"),
    "canoe": ("#paddling", "#LakeLife"),
    "pier": ("#LakeLife", "#waterfront"),
    "street sign": ("#StreetPhotography", "#signs"),
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
    arafed araffe arafly line area way
"""
STOPWORDS = frozenset(_WORDS.split())
