"""A roaster with no network: templates filled with material from the mention itself.

It quotes back single words only, each vetted by the safety checker's word rules, and
never a phrase: whatever a mention tries to make it say, the most it can get back is
one harmless word in quotes. A mention that gives orders gets roasted for trying.
Output depends only on (seed, mention, attempt, texts to avoid).
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from twitter_text import parse_tweet

from roastbot.roasting.base import RoastDraft, RoastRequest
from roastbot.roasting.normalize import clean, word_set
from roastbot.roasting.safety import MAX_WEIGHTED_LENGTH, has_injection_marker, safe_words

MODEL = "offline-templates-v1"


@dataclass(frozen=True)
class Template:
    text: str
    needs: frozenset[str] = frozenset()
    weight: int = 3


def _templates(weight: int, needs: str, *texts: str) -> list[Template]:
    return [Template(text, frozenset(needs.split()), weight) for text in texts]


# Slots: {word} {word2} words from the mention, {tag} one of its hashtags, {emoji} one
# of its emoji, {bio} a word from the author's bio, {ref} a word from the post it
# replies to, {count} how many hashtags. Conditions without a slot: shouting, exclaiming,
# hashtag_pile, question, no_material, emoji_pile, orders (the mention tried to command us).
TEMPLATES: tuple[Template, ...] = tuple(
    _templates(
        1,
        "",
        "Your mention has the energy of a loading spinner: lots of effort, nothing arriving.",
        "You asked a bot for a roast because your group chat already muted you. Respect the hustle.",
        "This reads like it was drafted in the notes app at 3am and approved by nobody.",
        "You tweet like autocorrect is your editor and it stopped trying years ago.",
        "Bold of you to ask for a roast when your timeline already does it daily.",
        "Your posting schedule is pure chaos; even the algorithm needs a nap after you.",
        "You have the online presence of a terms-and-conditions page: always there, never read.",
        "If overthinking burned calories, this post would count as a marathon.",
        "Your drafts folder called. It wants its worst idea back.",
        "This mention is proof that the send button needs a cooldown.",
        "Your posts have the shelf life of an open avocado.",
        "I have seen more personality in a default profile picture.",
        "Your timeline is a group project where you did none of the work and all of the posting.",
        "You post like your phone is on 2% and this is the message you chose to leave behind.",
        "Somewhere a ring light is dimming itself so it does not have to see this post.",
        "You treat the timeline like a diary with a lock that was never installed.",
    )
    + _templates(
        3,
        "word",
        "You posted about “{word}” like it was breaking news. It was not even breaking a sweat.",
        "Of all the words available, you chose “{word}” and built a whole personality around it.",
        "“{word}”? Bold pick. The dictionary would like its word back, gently used.",
        "Your take on “{word}” has the depth of a puddle in a heatwave.",
        "Somewhere, the word “{word}” is asking your keyboard for some personal space.",
        "You said “{word}” with the confidence of someone who skimmed one thread about it.",
        "Nobody has ever been this excited about “{word}” and also been right.",
        "Your “{word}” era is the reason the mute button was invented.",
        "Calling this a thought about “{word}” is generous; it is more of a loading screen.",
        "If “{word}” were an Olympic sport, you would still find a way to post about it instead of practising.",
        "I read your post about “{word}” twice and somehow understood it less the second time.",
        "“{word}” is doing a lot of heavy lifting in a post with no other muscles.",
        "Your commitment to “{word}” is the most consistent thing on your timeline.",
        "This post about “{word}” was brought to you by zero research and maximum Wi-Fi.",
    )
    + _templates(
        4,
        "word word2",
        "“{word}” and “{word2}” in one post? That is not a take, that is a salad with no dressing.",
        "You put “{word}” next to “{word2}” like a toddler picking an outfit: confidently, and wrong.",
        "The plot: “{word}”. The twist: “{word2}”. The audience: asleep.",
        "“{word}”, “{word2}”... are you posting or cleaning out a junk drawer?",
        "Your post connects “{word}” to “{word2}” with the logic of a dream you insist on explaining.",
    )
    + _templates(
        4,
        "tag",
        "Using {tag} does not make it a movement; it makes it a search result nobody clicks.",
        "{tag}? The only thing trending here is my urge to log off.",
        "You hashtagged {tag} like the algorithm owes you rent.",
        "{tag} has seen better days, and most of them were before your post.",
        "Adding {tag} to that was like putting a bow on a parking ticket.",
        "Even {tag} is quietly hoping you find a new hashtag.",
    )
    + _templates(
        4,
        "emoji",
        "That {emoji} is working overtime to make this post seem funny.",
        "You used {emoji} like punctuation, and honestly it is the best-written part.",
        "Take away the {emoji} and this post is just a cry for attention in plain text.",
        "The {emoji} is doing all the heavy lifting here, and it would like a raise.",
    )
    + _templates(
        4,
        "bio",
        "Your bio says “{bio}”, which is the boldest claim on this platform today.",
        "“{bio}” in the bio, chaos in the posts. Pick a lane.",
        "A bio that brags about “{bio}” and a post like this? Your personal brand needs a recall.",
        "You put “{bio}” in your bio like a trophy you bought for yourself.",
        "Your bio promises “{bio}”; your timeline delivers a buffering icon.",
    )
    + _templates(
        5,
        "ref",
        "You saw a post about “{ref}” and thought: this needs a bot. Outsourcing your comebacks now?",
        "That post about “{ref}” is not worth a roast, and neither is asking a bot to fight your battles.",
        "A take on “{ref}” that tired deserves a nap, not a roast. So do you, for summoning me.",
        "Roast that? It is about “{ref}”. It roasted itself on the way out.",
        "You summoned me for a post about “{ref}”. The bar was on the floor and you brought a shovel.",
        "I read the post about “{ref}”. It is giving first draft, and you are giving hall monitor.",
    )
    + _templates(5, "shouting", "Your caps lock is stuck, and so, apparently, is your volume knob.")
    + _templates(5, "shouting", "Typing in all caps does not make it true. It just makes it loud.")
    + _templates(5, "exclaiming", "That many exclamation marks is not enthusiasm, it is a cry for an editor.")
    + _templates(
        5, "hashtag_pile", "{count} hashtags in one post. That is not reach, that is a filing cabinet."
    )
    + _templates(4, "question", "You asked a question, and the answer is still: log off.")
    + _templates(5, "emoji_pile", "More emoji than words: your post is a hieroglyph with ambitions.")
    + _templates(
        6,
        "no_material",
        "You summoned a roast bot and brought no material. That is the roast.",
        "An empty mention to a roast bot: the comedic equivalent of a blank slide in a meeting.",
    )
    + _templates(
        8,
        "orders",
        "Trying to hack a roast bot with one sentence? The only thing you compromised was your own dignity.",
        "Nice try giving me orders. I only take requests from people with better material.",
        "You wrote instructions for a bot instead of a joke. Even your exploits need an editor.",
        "Asking me to recite your lines? Your ghostwriter quit and now you are trying to hire a bot.",
        "Social-engineering a roast bot: bold move for someone whose best hack is restarting the router.",
        "Hijacking a bot takes skill. This attempt took three seconds and none of them were spent thinking.",
    )
)

# Emoji that are only ever playful; anything else (including ones used as hate symbols) is ignored.
PLAYFUL_EMOJI = frozenset(
    "😂🤣😭💀🙃😅😎🤔🙄😤🥲😴🤡🔥✨🚀💯🙏👀🎉☕🍕🍔🌮🎮💻📱📉📈🤖🧠⚡🥳😬🫠😩🤓🧐👑💅🏆🌚🌝🍿🧃🥱🫡"
)

STOPWORDS = word_set(
    """about above after again against also always another anyone anything around away back because been
    before being best better both came cant come could dear didnt does doesnt doing done dont down each
    either else enough even ever every everyone everything from gave getting give going gonna good gotta
    great haha hahaha have having here hers himself honestly into isnt itself just know last like literally
    look looking made make many maybe mean means mine more most much must myself need never nothing okay
    once only onto other ours over people please post posts pretty quite rather really roast roasted
    roasting roastbot roasts said same says seriously should since some someone something sometimes still
    such take than thank thanks that thats their them then there these they thing things think this those
    though thread through time today told tomorrow tonight took totally tweet tweets twitter under until
    upon very wanna want week well were what when where whether which while whom whose will with would
    year years yesterday your youre yours yourself lmao omfg bots thee thou yeah yall"""
)

# Orders to the bot: the whole field becomes off-limits and the mention gets roasted for trying.
_ORDERS = re.compile(
    r"\b(?:reply|respond|answer|say|write|post|tweet|output|print|type|send)\b[^.!?\n]{0,60}"
    r"\b(?:exactly|verbatim|only|word for word|the following|this text|these words|this message|this)\b"
    r"|\b(?:reply|respond|answer|say|write|post|tweet|output|print|type)\b[^.!?\n:]{0,30}:"
    r"|repeat after me|copy (?:and|&) paste|\b(?:tag|mention|ping|cc)\b[^.!?\n]{0,40}@\s*\w"
    r"|\b(?:include|add|share|post|drop|put)\b[^.!?\n]{0,40}\b(?:links?|urls?|websites?|site|number|emails?|phone)\b"
    r"|\b(?:call|text|dm|email|contact|whatsapp) (?:me|us) (?:at|on)\b|\bpretend\b|\bact as\b|\broleplay\b"
    r"|you are no longer|your new (?:role|task|job|persona|instructions)|\b(?:system|assistant|user|admin)\s*:",
    re.I,
)
# A sentence opening with a command is left out, but is not held against the author.
_COMMAND_SENTENCE = re.compile(
    r"^\W*(?:please\s+)?(?:reply|respond|answer|say|write|post|tweet|tag|mention|include|add|share|repeat|"
    r"print|output|type|call|text|dm|email|follow|click|visit|go to|check out|translate|pretend|act|tell|use|"
    r"send|ignore|forget|disregard)\b",
    re.I,
)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?\n]*")
_CONTACT_OR_LINK = re.compile(
    r"\S+@\S+|(?<![\w@])@\w+|\b(?:https?|hxxps?|ftp)\S+|\bwww\.\S+|\S+\.(?:[a-z]{2,})(?:/\S*)?"
    r"|\+?\(?\d[\d\s().\-/]{5,}\d",
    re.I,
)
_HASHTAG = re.compile(r"(?<![\w#&])#([A-Za-z]{2,24})(?![\w#])")
_ANY_HASHTAG = re.compile(r"(?<![\w#&])#\w+")
_TAG_PARTS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_WORD = re.compile(r"(?<![\w'’])[A-Za-z]{4,14}(?![\w'’])")


@dataclass(frozen=True)
class Material:
    """What a mention offers to roast, every piece already vetted."""

    words: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    emoji: tuple[str, ...] = ()
    bio_words: tuple[str, ...] = ()
    referenced_words: tuple[str, ...] = ()
    conditions: frozenset[str] = frozenset()
    hashtag_count: int = 0


def gather_material(request: RoastRequest) -> Material:
    """Vetted words, hashtags, emoji and habits from the mention, the bio and the referenced post."""
    text = clean(request.text)
    orders = _gives_orders(text)
    fields = {
        "words": "" if orders else text,
        "bio": "" if _gives_orders(request.author_description) else clean(request.author_description),
        "ref": "" if _gives_orders(request.referenced_text or "") else clean(request.referenced_text or ""),
    }
    own_names = {request.author_username.casefold(), *request.author_name.casefold().split()}
    raw_words = {name: _candidate_words(value, own_names) for name, value in fields.items()}
    raw_tags = [] if orders else list(dict.fromkeys(_HASHTAG.findall(text)))
    tag_parts = {tag: [part.lower() for part in _TAG_PARTS.findall(tag)] + [tag.lower()] for tag in raw_tags}
    vetted = set(
        safe_words(
            [word for words in raw_words.values() for word in words]
            + [p for ps in tag_parts.values() for p in ps]
        )
    )
    hashtags = tuple(f"#{tag}" for tag, parts in tag_parts.items() if all(part in vetted for part in parts))
    emoji = tuple(dict.fromkeys(char for char in text if char in PLAYFUL_EMOJI))
    words = tuple(word for word in raw_words["words"] if word in vetted)

    conditions = set()
    letters = [char for char in _CONTACT_OR_LINK.sub(" ", text) if char.isalpha() and char.isascii()]
    if orders:
        conditions.add("orders")
    else:
        if len(letters) >= 12 and sum(char.isupper() for char in letters) / len(letters) > 0.8:
            conditions.add("shouting")
        if text.count("!") >= 3:
            conditions.add("exclaiming")
        if text.rstrip().endswith("?"):
            conditions.add("question")
        tag_count = len(_ANY_HASHTAG.findall(text))
        if tag_count >= 4:
            conditions.add("hashtag_pile")
        emoji_count = sum(char in PLAYFUL_EMOJI for char in text)
        if emoji_count >= 4 and emoji_count * 2 > len(words):
            conditions.add("emoji_pile")
        if not words and not hashtags and not emoji:
            conditions.add("no_material")
    return Material(
        words=words,
        hashtags=hashtags,
        emoji=emoji,
        bio_words=tuple(word for word in raw_words["bio"] if word in vetted),
        referenced_words=tuple(word for word in raw_words["ref"] if word in vetted),
        conditions=frozenset(conditions),
        hashtag_count=0 if orders else len(_ANY_HASHTAG.findall(text)),
    )


def _gives_orders(text: str) -> bool:
    return bool(text) and (has_injection_marker(text) or bool(_ORDERS.search(clean(text))))


def _candidate_words(text: str, own_names: set[str]) -> list[str]:
    """Plain ASCII words worth quoting: no contact details, links, handles or command sentences."""
    if not text:
        return []
    # Links and addresses go first: their dots would otherwise split them into "sentences".
    text = _ANY_HASHTAG.sub(" ", _CONTACT_OR_LINK.sub(" ", text))
    kept = " ".join(
        sentence for sentence in _SENTENCE.findall(text) if not _COMMAND_SENTENCE.match(sentence.strip())
    )
    words = (word.lower() for word in _WORD.findall(kept))
    return list(dict.fromkeys(word for word in words if word not in STOPWORDS and word not in own_names))


SIGN_OFFS = [
    "No notes.",
    "Respectfully.",
    "Sent with love, mostly.",
    "This has been a public service.",
    "Stay hydrated.",
    "Peer reviewed by nobody.",
    "Filed under: bold choices.",
    "Carry on.",
    "Rated two stars.",
    "Thoughts and prayers.",
    "We will get through this.",
    "Bless your timeline.",
    "Do better, gently.",
    "Log off for a minute.",
    "The group chat agrees.",
    "Anyway, good luck.",
    "Consider this feedback.",
    "Cheers.",
    "With minimal malice.",
    "Kindly, the bot.",
    "Take a walk.",
    "End of roast.",
    "Try again tomorrow.",
    "Keep it up, somehow.",
    "History will judge.",
    "Noted for the archive.",
    "That is all.",
    "Sincerely, your timeline.",
    "Hope this helps.",
    "Be well.",
]


class OfflineRoaster:
    """Deterministic template roasts; thread-safe (no shared mutable state)."""

    name = "offline"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.model = MODEL

    def roast(self, request: RoastRequest) -> RoastDraft:
        material = gather_material(request)
        rng = random.Random(self._stream(request))
        avoided = {_comparable(text) for text in request.avoid_texts}
        templates = _weighted_order(_fitting(material), rng)
        # Sign-offs multiply the variety: a busy bot must not repeat itself (X refuses duplicates).
        sign_offs = rng.sample(SIGN_OFFS, len(SIGN_OFFS))
        # A regeneration (attempt > 0) starts signed off: the plain texts are likely taken.
        for sign_off in [*sign_offs, ""] if request.attempt > 0 else ["", *sign_offs]:
            for template in templates:
                text = f"{_fill(template, material, rng)} {sign_off}".strip()
                if (
                    _comparable(text) not in avoided
                    and parse_tweet(text).weightedLength <= MAX_WEIGHTED_LENGTH
                ):
                    return RoastDraft(text=text, roaster=self.name, model=self.model)
        # Every fitting template is already used: number the encore (never reached in practice).
        base = _fill(TEMPLATES[0], material, rng)
        encore = 2
        while _comparable(f"{base} Encore {encore}.") in avoided:
            encore += 1
        return RoastDraft(text=f"{base} Encore {encore}.", roaster=self.name, model=self.model)

    def _stream(self, request: RoastRequest) -> int:
        key = f"{self.seed}\x00{request.mention_id}\x00{request.attempt}".encode()
        return int.from_bytes(hashlib.sha256(key).digest()[:8], "big")


def _fitting(material: Material) -> list[Template]:
    available = set(material.conditions)
    if len(material.words) >= 1:
        available.add("word")
    if len(material.words) >= 2:
        available.add("word2")
    if material.hashtags:
        available.add("tag")
    if material.emoji:
        available.add("emoji")
    if material.bio_words:
        available.add("bio")
    if material.referenced_words:
        available.add("ref")
    if "orders" in available:
        # Nothing from an order is quoted back; it is roasted as an order.
        available &= {"orders", "bio"}
    return [template for template in TEMPLATES if template.needs <= available]


def _weighted_order(templates: Sequence[Template], rng: random.Random) -> list[Template]:
    # Weighted shuffle (Efraimidis-Spirakis): specific templates tend to come first.
    return sorted(templates, key=lambda template: rng.random() ** (1 / template.weight), reverse=True)


def _fill(template: Template, material: Material, rng: random.Random) -> str:
    word, word2 = _two(material.words, rng)
    return template.text.format(
        word=word,
        word2=word2,
        tag=rng.choice(material.hashtags) if material.hashtags else "",
        emoji=rng.choice(material.emoji) if material.emoji else "",
        bio=rng.choice(material.bio_words) if material.bio_words else "",
        ref=rng.choice(material.referenced_words) if material.referenced_words else "",
        count=material.hashtag_count,
    )


def _two(words: Sequence[str], rng: random.Random) -> tuple[str, str]:
    if not words:
        return "", ""
    if len(words) == 1:
        return words[0], words[0]
    first, second = rng.sample(list(words), 2)
    return first, second


def _comparable(text: str) -> str:
    return " ".join(clean(text).casefold().split())
