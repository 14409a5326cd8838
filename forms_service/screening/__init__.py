"""Screening written answers, offline: personal data that names or identifies someone, and abuse.

Every finding has a kind (the contract's names: ``email``, ``phone``, ``url``, ``postcode``,
``id-number``, ``name``, ``singling-out``, ``abuse``), a span of the text (character offsets),
a score in [0, 1] and a reason a moderator reads. An answer with any finding is held for a
moderator; one with none is passed (and may still be spot-checked).

What finds what:

* phone numbers: ``phonenumbers`` (Google's libphonenumber), UK numbering, ten digits or more;
* e-mail addresses (also spelled out: "jo dot bloggs at leeds dot ac dot uk"), web
  addresses, UK postcodes, National Insurance numbers and the configured ID-number patterns
  (by default the university's 9-digit student numbers starting 20): patterns here;
* person names: gazetteers of UK first names (ONS, NRS, NISRA baby names) and surnames (US
  Census 1990), shipped in ``data/`` (see ``data/SOURCES.md``); a name that is also an English
  word ("Grant", "Will", "Hope") counts only after a title or before a surname, never alone;
  titles (Dr, Professor, Mr …) before a word; a configured deny-list (a staff directory);
* descriptions that single someone out: a role or job title with a department or place ("the
  head porter in Estates"), "the only …" phrases, a named place with a time;
* abuse: ``alt-profanity-check``'s classifier (its model ships in its wheel) and a word list
  with obfuscations ("f***ing", "sh1t"), words that merely contain one (Scunthorpe, assess)
  left alone.

Must never: download anything, log the text it screens, or interpret it as markup.
"""

from __future__ import annotations

import gzip
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

KINDS = ("email", "phone", "url", "postcode", "id-number", "name", "singling-out", "abuse")
CONTACT = ("email", "phone", "url", "postcode", "id-number")

REPLACEMENT = {
    "email": "[contact details removed]", "phone": "[contact details removed]", "url": "[link removed]",
    "postcode": "[address removed]", "id-number": "[ID number removed]", "name": "[name removed]",
    "singling-out": "[description removed]", "abuse": "[removed]",
}
"""What a redacted span of each kind becomes in the text that is posted."""

SURNAME_ALONE = 0.01
"""A capitalised surname on its own counts from this share (per cent) of the census up: Patel,
Jones and Khan do; Sheffield, Monday and Christmas, surnames of a few, do not."""

MAX_SCREENED = 20_000
"""Characters screened of one answer (longer ones are screened up to here and held as too long)."""


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int
    score: float
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "start": self.start, "end": self.end, "score": round(self.score, 3),
                "reason": self.reason}


@dataclass(frozen=True)
class Settings:
    """What a deployment adds: its own ID-number patterns, names and places."""

    # the university's student numbers: nine digits starting 20, however they are spaced
    id_patterns: Sequence[str] = (r"(?<![\d£$])(?<!\d[.,])2[ -]?0(?:[ -]?\d){7}(?!\d|[.,]\d)",)
    deny_names: Sequence[str] = ()  # e.g. a staff directory export: always a name
    allow_words: Sequence[str] = ()  # never abuse, never a name
    places: Sequence[str] = (
        "Parkinson", "Brotherton", "Laidlaw", "Roger Stevens", "Charles Morris", "Michael Sadler", "Marjorie",
        "Edward Boyle", "Clothworkers", "Stage@leeds", "Worsley", "Garstang", "Baines Wing", "Esther Simpson",
        "Sir William Henry Bragg", "Bragg", "Leeds", "Headingley", "Hyde Park")
    abuse_threshold: float = 0.6  # held-for-a-moderator errs towards holding: the clean-held budget is 15 %


# -- patterns -----------------------------------------------------------------------------------------

_AT = r"(?:@|\s*\(at\)\s*|\s*\[at\]\s*|\s+at\s+)"
_DOT = r"(?:\.|\s*\(dot\)\s*|\s*\[dot\]\s*|\s+dot\s+)"
_WORD = r"[A-Za-z0-9_%+-]+"
EMAIL = re.compile(rf"\b{_WORD}(?:{_DOT}{_WORD})*\s*@\s*[A-Za-z0-9-]+(?:\s*\.\s*[A-Za-z0-9-]+)*\s*\.\s*[A-Za-z]{{2,}}\b",
                   re.I)
SPELLED_EMAIL = re.compile(
    rf"\b{_WORD}(?:{_DOT}{_WORD})*{_AT}[A-Za-z0-9-]+(?:{_DOT}[A-Za-z0-9-]+)*{_DOT}(?:uk|com|org|net|edu|ac|co|gov|io)\b",
    re.I)
URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+|\b(?:[a-z0-9-]+\.)+(?:co\.uk|ac\.uk|org\.uk|com|org|net|uk|ly|io|gg|me|info|app|dev|tv|ie)"
                 r"(?:/[^\s<>\"']*)?", re.I)
POSTCODE = re.compile(r"\b(?:[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2})\b", re.I)
# any two letters (people copy HMRC's own example prefix, QQ, as readily as a real one)
NI_NUMBER = re.compile(r"\b[A-Z]{2}[\s-]?\d{2}[\s-]?\d{2}[\s-]?\d{2}[\s-]?[A-D]\b", re.I)
# a letter O written for a zero beside a digit ("2O1334455", "07700 9OO 190")
_O_FOR_ZERO = re.compile(r"(?<=\d)[Oo]|[Oo](?=\d)")
_SPOKEN = r"(?:(?:double|triple)\s+)?(?:oh|zero|nought|one|two|three|four|five|six|seven|eight|nine|\d)"
# a number written as it is said: "oh seven seven double oh nine ..."
SPOKEN_NUMBER = re.compile(rf"\b{_SPOKEN}(?:[\s,-]+{_SPOKEN})+\b", re.I)

NICKNAMES = {
    # common diminutives the birth registers do not hold, by whether they are also English words
    "kev": False, "bev": False, "dave": False, "steve": False, "mike": False, "pete": False, "jim": False,
    "andy": False, "tony": False, "dan": False, "sam": False, "liz": False, "jen": False, "kath": False,
    "debs": False, "gaz": False, "baz": False, "shaz": False, "daz": False, "tez": False, "phil": False,
    "chris": False, "steph": False, "becky": False, "mags": False, "bernie": False, "gill": True, "mo": True,
    "al": True, "di": True, "ed": True, "pat": True, "rob": True, "sue": True, "jo": True, "nat": True,
    "viv": False, "rich": True, "ted": True, "bob": True, "nick": True, "bill": True, "ben": True,
}

TITLES = ("dr", "doctor", "prof", "professor", "mr", "mrs", "ms", "miss", "mx", "sir", "dame", "lord", "lady",
          "rev", "reverend", "father", "sister", "auntie", "uncle")
ROLES = (
    "porter", "head porter", "manager", "lab manager", "line manager", "lecturer", "senior lecturer", "tutor",
    "personal tutor", "supervisor", "professor", "head of school", "head of department", "head of service",
    "head", "director", "dean", "pro-dean", "vice-chancellor", "receptionist", "cleaner", "technician",
    "librarian", "warden", "security guard", "guard", "administrator", "admin", "coordinator", "co-ordinator",
    "officer", "adviser", "advisor", "chef", "cook", "caretaker", "driver", "nurse", "counsellor", "teacher",
    "instructor", "coach", "secretary", "assistant", "postdoc", "researcher", "demonstrator", "boss",
    "team leader", "leader", "module leader", "programme leader", "course leader", "module convenor",
    "business partner", "hod", "head of year", "pi", "chair", "convenor", "mentor", "chaplain", "rep",
    "vice chancellor", "vice-chancellor", "pvc", "provost", "bursar", "nurse", "doctor", "gp", "vc", "steward", "attendant", "gardener", "handyman",
    "barista", "bar staff", "server", "manageress", "principal", "registrar", "examiner", "invigilator",
    "phd student", "pgr", "research student", "postgrad", "student rep", "dose", "hos", "director of student education",
    "mature student", "flatmate", "housemate", "landlord", "landlady", "marker", "second marker", "groundsman",
    "groundskeeper", "piper", "chancellor", "pro-vice-chancellor", "deputy vice-chancellor", "education officer",
    "welfare officer", "president", "vice president", "academic", "lifeguard", "physio", "trainer", "organist",
    "heid", "heid o department", "heid o school", "heid o year",
)
# roles one person holds in a place: "our HoS" or "the registrar" points at them with no place named
UNIQUE_ROLES = frozenset({
    "head porter", "head of school", "head of department", "head of service", "head of year", "head", "director",
    "dean", "pro-dean", "vice-chancellor", "vice chancellor", "vc", "pvc", "provost", "bursar", "registrar",
    "principal", "hod", "hos", "dose", "director of student education", "warden", "chaplain", "head gardener",
    "lab manager", "manageress", "programme leader", "course leader", "module leader", "module convenor",
    "chancellor", "pro-vice-chancellor", "deputy vice-chancellor", "education officer", "welfare officer",
    "president", "vice president", "heid", "heid o department", "heid o school", "heid o year",
})
# how people write "the", "my", "our" in the voices of the north and Scotland ("t'dean", "ma supervisor", "oor boss")
DETERMINERS = r"(?:the|our|my|your|their|a|this|that|ma|me|mah|oor|wor|t['’]\s?)"
# a person, not named: "the lass on the till", "the fella running our lab"
PERSON = r"(?:man|woman|guy|lady|girl|bloke|chap|lad|lass|fella|fellow|gadgie|person|gent|gentleman|dude)"
PLACE_WORDS = (
    "estates", "chemistry", "physics", "maths", "mathematics", "biology", "geography", "history", "law",
    "medicine", "music", "english", "philosophy", "psychology", "engineering", "computing", "business",
    "library", "reception", "gym", "canteen", "refectory", "cafe", "café", "bar", "union", "halls", "hall",
    "office", "lab", "laboratory", "department", "school", "faculty", "centre", "center", "building", "wing",
    "floor", "kitchen", "security", "it", "hr", "finance", "admissions", "accommodation", "careers",
    "edge", "sports", "catering", "facilities", "print", "post room", "mailroom", "nursery", "chaplaincy",
    "room", "seminar", "seminar group", "flat", "block", "corridor", "team", "lab group", "cohort", "till",
)
DAYS = r"(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?s?"
TIME = rf"(?:\b\d{{1,2}}(?::\d{{2}})?\s*(?:am|pm)\b|\b(?:on|every)\s+{DAYS}\b|\b{DAYS}\s+(?:morning|afternoon|evening|night)s?\b)"

# abuse: words that are abusive on their own (the classifier catches most; these catch the short ones)
ABUSE_WORDS = (
    "fuck", "fucking", "fucker", "fucked", "fuckwit", "shit", "shite", "shitty", "bullshit", "cunt", "twat",
    "wanker", "wankers", "tosser", "bastard", "bitch", "dick", "dickhead", "prick", "arsehole", "asshole", "arse",
    "bollocks", "piss", "pissed", "slag", "slut", "whore", "retard", "retarded", "spastic", "spaz", "moron",
    "idiot", "idiots", "imbecile", "cretin", "scum", "scumbag", "knob", "knobhead", "bellend", "nonce", "pillock",
    "numpty", "muppet", "dipshit", "douche", "douchebag", "crap", "useless", "stupid", "pathetic", "disgusting",
    "incompetent", "clown", "clowns", "loser", "vile", "hate", "die", "kill", "paki", "nigger", "faggot", "fag",
    "dyke", "tranny", "gypo", "pikey", "chav", "kike", "wog", "coon", "spic", "chink", "raghead", "parasite",
    "parasites", "greedy", "fck", "fcking", "effing", "kys", "leech", "leeches", "hell", "lazy", "scrounger",
    "scroungers", "thick", "dumb", "ugly", "fat", "creep", "creepy", "pervert", "perv", "sleazy", "snake", "rat",
    "pig", "pigs", "liar", "liars", "fraud", "crook", "crooks", "thief", "thieves", "bully", "bullies", "sexist",
    "racist", "nazi", "nazis", "freak", "freaks", "weirdo", "psycho", "thug", "thugs", "dinosaur", "dinosaurs",
    "waste of space", "joke",
)
_STRONG = {"fuck", "fucking", "fucker", "fucked", "fuckwit", "shit", "shite", "cunt", "twat", "wanker", "wankers",
           "tosser", "bastard", "bitch", "dickhead", "prick", "arsehole", "asshole", "bollocks", "slag", "slut",
           "whore", "retard", "retarded", "spastic", "spaz", "scumbag", "knobhead", "bellend", "nonce", "dipshit",
           "douchebag", "paki", "nigger", "faggot", "dyke", "tranny", "gypo", "pikey", "kike", "wog", "coon",
           "spic", "chink", "raghead", "bullshit", "moron", "cretin", "imbecile", "scum", "fck", "fcking",
           "effing", "kys", "motherfucker", "motherfuckers", "motherfucking", "ffs",
           "wtf", "stfu", "fml", "gtfo", "eejit", "bawbag", "wazzock", "roaster", "bampot", "fud", "dobber",
           "numbnuts", "trannies", "muzzie", "muzzies", "gyppo", "gippo", "pikeys", "chinky", "fk", "muppet", "numpty", "pillock", "halfwit", "dimwit", "nitwit", "plonker", "gobshite", "cockwomble", "bint", "clusterfuck", "shitshow", "tosspot", "minger",
           # other languages' commonest swearing, as people write it on an English form
           "scheiße", "scheisse", "merde", "putain", "kurwa", "mierda", "joder", "cazzo", "vaffanculo", "puta",
           "pendejo", "cabron", "cabrón", "blyat", "suka"}
# what an abusive word is built on: in any word but the harmless ones (_SAFE_SUBSTRINGS), "clusterfuck"
_ROOTS = ("fuck", "shit", "cunt", "wank", "twat")
# words that sound abusive only about a person: "useless idiot", "he is pathetic"
_ABOUT_PEOPLE = {"idiot", "idiots", "useless", "stupid", "pathetic", "disgusting", "incompetent", "clown", "clowns",
                 "loser", "vile", "knob", "dick", "hate", "die", "kill",
                 "piss", "pissed", "arse", "chav", "fag", "douche", "parasite", "parasites", "greedy", "leech",
                 "leeches", "lazy", "scrounger", "scroungers", "thick", "dumb", "ugly", "fat", "creep",
                 "creepy", "pervert", "perv", "sleazy", "snake", "rat", "pig", "pigs", "liar", "liars", "fraud",
                 "crook", "crooks", "thief", "thieves", "bully", "bullies", "nazi", "nazis", "freak", "freaks",
                 "weirdo", "psycho", "thug", "thugs", "dinosaur", "dinosaurs", "git", "pillock", "muppet",
                 "numpty", "vermin", "animal", "worm", "spineless", "cockroach", "brain-dead", "braindead",
                 "halfwit", "dimwit", "nitwit", "dickhead", "bellend", "plonker", "prat", "wally", "tool",
                 "hypocrite", "coward", "cowards", "sociopath", "parasitic", "neanderthal", "neanderthals",
                 "feral", "gormless", "fanny", "savages", "savage", "subhuman", "cockroaches", "rodent", "rodents",
                 "inbred", "inbreds", "simpleton", "numpties", "wastrel", "degenerate", "degenerates",
                 "lowlife", "lowlifes", "trash"}
# after an insult, words that aim it at people ("vermin, the lot of them")
_PEOPLE_AFTER = re.compile(r"^\W*(?:the\s+lot(?:\s+of\s+(?:them|you|em))?|all\s+of\s+(?:them|you|em)|every\s+(?:one|last)"
                           r"|(?:they|you)\s+(?:are|all)|the\s+(?:lot|pair|bunch)\b)", re.I)
# groups of people by nationality, ethnicity, religion, sex, sexuality: what a hateful generalisation is about
GROUPS = (r"(?:(?:eastern\s+)?europeans|poles|polish|romanians|bulgarians|albanians|chinese|indians|pakistanis|"
          r"bangladeshis|africans|nigerians|arabs|asians|blacks|whites|muslims|jews|jewish\s+(?:people|students)|"
          r"hindus|sikhs|catholics|christians|gypsies|gypsy|travellers|roma|immigrants|migrants|refugees|"
          r"asylum\s+seekers|foreigners|foreign\s+students|international\s+students|overseas\s+students|"
          r"women|men|girls|lads|gays|gay\s+people|lesbians|trans\s+(?:people|women|men|students)|"
          r"(?:the\s+)?disabled|scousers|geordies|southerners|northerners|(?:the\s+)?english|scots|irish|welsh)")
HATE = re.compile(
    r"\b(?:get|kick|send|throw|keep|ship|chuck)\s+(?:all\s+)?(?:the|these|those|them)?\s*" + GROUPS
    + r"\b[^.!?]{0,40}?\b(?:out|away|home|back)\b[^.!?]*"
    r"|\b" + GROUPS + r"(?:\s+(?:students|staff|people|workers|lads|girls|families))?\s+(?:are\s+)?"
    r"(?:just|all|always|only|never|basically)?\s*(?:cheat|cheats|steal|steals|lie|lies|scrounge|scrounges|"
    r"smell|smells|stink|stinks|breed|breeds|(?:should|shouldn'?t|should\s+not)\s+be\s+(?:let|allowed|here|"
    r"sent|kicked|deported|banned)|should\s+(?:go|be\s+sent)\s+(?:home|back)|(?:are\s+)?(?:all\s+)?(?:thieves|"
    r"criminals|animals|vermin|scum|terrorists|parasites|rapists|dirty|filthy|subhuman|inferior))\b[^.!?]*", re.I)
THREATS = re.compile(
    r"\b(?:i\s*(?:'|’)?ll|i\s+will|i\s*(?:'|’)?m\s+(?:going\s+to|gonna|gna|gunna)|gonna|imma|ima)\s+(?:burn|kill|"
    r"hurt|smash|stab|shoot|beat|batter|punch|get|find|sort|knock|kick|deck|slap|strangle|murder|glass|torch|"
    r"brick|end|break|bury|lamp|twat|chin|leather|kneecap)\b[^.!?]*"
    r"|\b(?:i'?d|i\s+would|we'?d|i\s+want\s+to)\s+(?:love|like|pay|enjoy)\s+(?:to\s+)?(?:see|watch)\b[^.!?]*"
    r"\b(?:burn|burns|die|dies|dead|suffer|suffers|hurt|bleed|hang|hanged|rot|drown|crash)\b[^.!?]*"
    r"|\bwatch\s+yoursel(?:f|ves)\b[^.!?]*"
    r"|\bline\s+(?:\w+\s+){0,4}?up\s+against\s+(?:a|the)\s+wall\b"
    r"|\b(?:brick|bricks|petrol\s+bomb|molotov)\s+through\b[^.!?]*"
    r"|\b(?:and|or|then)\s+(?:just\s+)?(?:see|watch)\s+what\s+happens\b[^.!?]*"
    r"|\bhope\s+(?:\w+\s+){0,6}?(?:loses?\s+(?:their|his|her|your)\s+(?:jobs?|house|homes?)|gets?\s+(?:sacked|"
    r"hurt|cancer|run\s+over|what'?s\s+coming)|dies|rots|burns|suffers)\b[^.!?]*"
    r"|\b(?:as\s+much\s+use\s+as|as\s+useful\s+as)\s+a\s+chocolate\s+\w+"
    r"|\b(?:better|should)\s+watch\s+(?:him|her|them|your)sel(?:f|ves)\b"
    r"|\bi\s+know\s+where\s+\w+(?:\s+\w+){0,8}?\s+lives?\b"
    r"|\bgo\s+back\s+(?:to\s+)?where\s+(?:they|you|he|she)\s+came\s+from\b"
    r"|\b(?:should|deserve\s+to|ought\s+to)\s+(?:die|be\s+shot|be\s+hanged|be\s+sacked\s+and\s+shot)\b"
    r"|\bkill\s+(?:yourself|themselves|himself|herself)\b"
    r"|\bhope\s+(?:you|they|he|she|it)\s+(?:gets?|die|dies|rot|rots|burn|burns|suffer|suffers)\b[^.!?]*"
    r"|\b(?:sod|piss|bugger|fuck|eff|fk|fck|feck|f\*+k)\s+off\b"
    r"|\b(?:screw|sod|bugger|stuff)\s+(?:you|them|him|her|the\s+lot\s+of\s+you)\b"
    r"|\bwatch\s+(?:your|his|her|their|my)\s+backs?\b"
    r"|\b(?:someone|somebody|people|we)\s+(?:should|ought\s+to|will|needs?\s+to)\s+(?:smash|burn|key|torch|slash|"
    r"beat|batter|punch|hit|deck|stab|kill|hurt|sort\s+out|do\s+in|lynch)\b[^.!?]*"
    r"|\bi\s*(?:'|’)?ll\s+be\s+waiting\s+for\s+(?:you|him|her|them)\b[^.!?]*"
    r"|\bhope\s+(?:you|they|he|she)\s+(?:choke|chokes|drown|drowns|get\s+hit|gets\s+hit|get\s+cancer)\b[^.!?]*"
    r"|\bgo\s+back\s+to\s+(?:your|their|his|her)\s+own\s+country\b"
    r"|\blittle\s+hitler\b"
    r"|\b(?:go\s+to|burn\s+in|rot\s+in)\s+hell\b"
    r"|\b(?:with|without)\s+(?:her|his|your|their)\s+(?:top|clothes|kit|shirt|knickers|pants)\s+off\b"
    r"|\bwaste\s+of\s+(?:oxygen|space|air|skin)\b", re.I)
OBFUSCATED = re.compile(r"\b(?:f[\W_]*[u\*@#]+[\W_]*[c\*]+[\W_]*k\w*|f\*+\w*|sh[i1!\*]+te?\w*|c[\*u]+n[\*t]+s?"
                        r"|tw[a@\*]t|b[i1!\*]tch\w*|a[\*s]{2}hole|w[a@\*]nk\w*|b[a@\*]st[a@\*]rd)", re.I)
_PEOPLE = re.compile(r"\b(?:you|he|she|they|him|her|them|his|their|your|is|are|was|were|being|a|an|such|total|"
                     r"complete|bunch|lot|go|should|those|these|right|utter|absolute)\b", re.I)
_SAFE_SUBSTRINGS = ("scunthorpe", "bastardis", "bastardiz", "faggots and peas", "faggots and mushy peas",
                    "faggots in gravy", "faggots, peas", "spotted dick", "moby dick", "assess", "classic", "essex", "cocktail", "therapist", "grape", "sussex",
                    "middlesex", "shitake", "shiitake", "dickens", "cockburn", "hancock", "penistone", "arsenal",
                    "passion", "bass", "cumbria", "analyse", "document", "shuttle")

_SAFE = re.compile("|".join(re.escape(w) for w in _SAFE_SUBSTRINGS), re.I)

_TOKEN = re.compile(r"[^\W\d_](?:[^\W\d_]|['’-])*")  # a word in any script ("Przemysław", "Zoë")

WEEKDAYS = frozenset({"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"})
MONTHS = frozenset({"january", "february", "march", "april", "may", "june", "july", "august", "september",
                    "october", "november", "december"})
_BEFORE_DATE = re.compile(r"(?:\b(?:in|on|since|by|until|till|from|of|last|next|this|every|early|late|mid|"
                          r"before|after|during|through|each)\s*[-\s])$", re.I)
# towns and cities people travel from or compare with: a place, not a person, when written alone
TOWNS = frozenset({
    "york", "bradford", "wakefield", "huddersfield", "halifax", "harrogate", "keighley", "ilkley", "otley",
    "dewsbury", "batley", "pudsey", "castleford", "pontefract", "selby", "barnsley", "doncaster", "rotherham",
    "sheffield", "manchester", "liverpool", "preston", "lancaster", "hull", "scarborough", "whitby", "durham",
    "newcastle", "sunderland", "middlesbrough", "darlington", "carlisle", "kendal", "lincoln", "nottingham",
    "derby", "leicester", "birmingham", "coventry", "oxford", "cambridge", "london", "bristol", "bath", "exeter",
    "plymouth", "cardiff", "swansea", "glasgow", "edinburgh", "aberdeen", "dundee", "belfast", "dublin",
    "norwich", "ipswich", "reading", "brighton", "southampton", "portsmouth", "chester", "stockport", "bolton",
    "wigan", "burnley", "blackburn", "blackpool", "skipton", "ripon", "beverley", "grimsby", "chesterfield",
    "stoke", "crewe", "warrington", "salford", "oldham", "rochdale", "bury", "morley", "garforth", "wetherby",
    "horsforth", "headingley", "chapeltown", "harehills", "kirkstall", "armley", "beeston", "holbeck",
    "roundhay", "meanwood", "adel", "guiseley", "yeadon", "rawdon", "shipley", "bingley", "lagos", "delhi",
    "mumbai", "beijing", "shanghai", "paris", "berlin", "madrid", "rome", "warsaw", "kyiv",
})
_TITLE_NOT_NAME = frozenset({"who", "what", "the", "and", "or", "of", "in", "on", "at", "to", "is", "was",
                             "are", "a", "an", "no", "not"})
# words people write that the name lists hold
# languages and festivals people name when they write about where they come from
_LANGUAGES_AND_FESTIVALS = frozenset({
    "english", "chinese", "mandarin", "cantonese", "arabic", "urdu", "hindi", "punjabi", "bengali", "tamil",
    "gujarati", "polish", "spanish", "french", "german", "italian", "portuguese", "japanese", "korean", "thai",
    "vietnamese", "malay", "turkish", "persian", "farsi", "kurdish", "welsh", "gaelic", "swahili", "yoruba",
    "igbo", "hausa", "russian", "ukrainian", "greek", "romanian", "bsl", "ramadan", "eid", "diwali", "vaisakhi",
    "hanukkah", "passover", "easter", "christmas", "lent", "holi", "navratri", "rosh", "hashanah", "yom", "kippur",
})


@cache
def _countries() -> frozenset[str]:
    """Countries' English names of one word ("India", "Chad", "Jordan"), from libphonenumber's region
    names: written alone they are places, not people."""
    from phonenumbers.geodata.locale import LOCALE_DATA

    names = set()
    for names_by_language in LOCALE_DATA.values():
        name = names_by_language.get("en", "")
        if name.startswith("*"):  # the same as another language's name
            name = names_by_language.get(name[1:], "")
        if name and " " not in name:
            names.add(_name_key(name))
    return frozenset(names) | _LANGUAGES_AND_FESTIVALS


_TEXT_SPEAK = frozenset({"ty", "thx", "pls", "plz", "tbh", "idk", "lol", "omg", "ppl", "rly", "jk", "ngl"})


def _spoken_digits(said: str) -> str:
    """The digits of a number written as it is said ("double oh nine" -> "009")."""
    names = {"oh": "0", "zero": "0", "nought": "0", "one": "1", "two": "2", "three": "3", "four": "4",
             "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}
    out, times = [], 1
    for word in re.findall(r"[a-z]+|\d", said.lower()):
        if word in ("double", "triple"):
            times = 2 if word == "double" else 3
            continue
        out.append((names.get(word) or word) * times)
        times = 1
    return "".join(out)


def _clean(text: str) -> str:
    """The text with control characters made spaces (offsets unchanged)."""
    return "".join(" " if unicodedata.category(c) in ("Cc", "Cf") and c not in "\n\t" else c for c in text)


@cache
def _gazetteer(name: str) -> dict[str, tuple[float, bool]]:
    """name -> (frequency, is an English word), from the shipped lists."""
    out: dict[str, tuple[float, bool]] = {}
    for line in resources.files(__package__).joinpath("data", name).read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        word, freq, is_word = line.split("\t")
        out[word] = (float(freq), is_word == "1")
    return out


@cache
def _classifier() -> Any:
    from profanity_check import predict_prob  # loads its model (about a second) on first use

    return predict_prob


@dataclass
class Screener:
    settings: Settings = field(default_factory=Settings)

    def __post_init__(self) -> None:
        self._ids = [re.compile(p) for p in self.settings.id_patterns]
        self._deny = {n.lower() for n in self.settings.deny_names}
        self._allow = {w.lower() for w in self.settings.allow_words}
        self._places = [p.lower() for p in self.settings.places]
        roles = sorted(ROLES, key=len, reverse=True)
        places = sorted(PLACE_WORDS, key=len, reverse=True)
        # a determiner, up to two words ("the external", "our school", "the new HR"), a role
        self._role = re.compile(r"(?<![\w'’])" + DETERMINERS + r"\s*(?:[\w'’-]+\s+){0,2}?(?:"
                                + "|".join(re.escape(r) for r in roles) + r")s?\b", re.I)
        # the place: a department or place word in any case, or capitalised words (a name of one)
        self._at = re.compile(r"\s*(?:(?i:with\s+the)\s+[\w-]+\s+)?"
                              r"(?i:in|at|from|of|on|for|who\s+runs|who\s+works\s+(?:in|at)|running|assigned\s+to|"
                              r"based\s+in)\s+"
                              r"(?i:the\s+|our\s+|my\s+)?(?:(?i:school\s+of\s+\w+)|[A-Z]{2,5}\d{3,4}\b|(?i:"
                              + "|".join(re.escape(p) for p in places)
                              + r")\b|[A-Z][\w&'-]+(?:\s+[A-Z][\w&'-]+)*)")

    # -- the whole screen -------------------------------------------------------------------------

    def screen(self, text: str) -> list[Finding]:
        """Every finding in ``text``, by position (overlaps of one kind merged)."""
        if not text or not text.strip():
            return []
        cut = _clean(text[:MAX_SCREENED])
        found: list[Finding] = []
        found += self._contact(cut)
        found += self._names(cut)
        found += self._singling_out(cut)
        found += self._abuse(cut)
        if len(text) > MAX_SCREENED:
            found.append(Finding("abuse", MAX_SCREENED, len(text), 1.0,
                                 f"longer than {MAX_SCREENED:,} characters: the rest was not screened"))
        return _merge(found)

    def screen_many(self, texts: Iterable[str]) -> list[list[Finding]]:
        items = list(texts)
        probs = self._abuse_probs(items)
        return [self._with_prob(t, p) for t, p in zip(items, probs, strict=True)]

    def _with_prob(self, text: str, prob: float) -> list[Finding]:
        self._prob = prob
        try:
            return self.screen(text)
        finally:
            self._prob = None

    _prob: float | None = None

    # -- contact and ID data --------------------------------------------------------------------------

    def _contact(self, text: str) -> list[Finding]:
        import phonenumbers

        out: list[Finding] = []
        numeric = text  # numbers as meant: a letter O beside a digit read as zero (offsets unchanged)
        for _ in range(4):  # "9OO": each pass turns the O beside a digit
            numeric, turned = _O_FOR_ZERO.subn("0", numeric)
            if not turned:
                break
        for m in EMAIL.finditer(text):
            out.append(Finding("email", m.start(), m.end(), 1.0, "an e-mail address"))
        for m in SPELLED_EMAIL.finditer(text):
            if " at " in m.group(0).lower() or "(at)" in m.group(0).lower() or "[at]" in m.group(0).lower():
                out.append(Finding("email", m.start(), m.end(), 0.9, "an e-mail address, spelled out"))
        for m in URL.finditer(text):
            if not any(f.kind == "email" and f.start <= m.start() < f.end for f in out):
                out.append(Finding("url", m.start(), m.end(), 0.9, "a web address"))
        for pm in phonenumbers.PhoneNumberMatcher(numeric, "GB", leniency=phonenumbers.Leniency.POSSIBLE):
            digits = re.sub(r"\D", "", pm.raw_string)
            if len(digits) >= 10:
                out.append(Finding("phone", pm.start, pm.end, 1.0, "a phone number"))
        for m in re.finditer(r"(?<![\d£$.,/])(?:\+44\s?|0)(?:\d[\s-]?){9,10}(?![\d,])", numeric):
            if not any(f.kind == "phone" and f.start <= m.start() < f.end for f in out):
                out.append(Finding("phone", m.start(), m.end(), 0.9, "a phone number"))
        for m in SPOKEN_NUMBER.finditer(text):
            digits = _spoken_digits(m.group(0))
            if len(digits) >= 10 and digits.startswith(("0", "44")):
                out.append(Finding("phone", m.start(), m.end(), 0.9, "a phone number, written out in words"))
        for m in POSTCODE.finditer(text):
            out.append(Finding("postcode", m.start(), m.end(), 0.8, "a postcode"))
        for m in NI_NUMBER.finditer(numeric):
            out.append(Finding("id-number", m.start(), m.end(), 1.0, "a National Insurance number"))
        for pattern in self._ids:
            for m in pattern.finditer(numeric):
                out.append(Finding("id-number", m.start(), m.end(), 1.0, "an ID number"))
        return out

    # -- names ------------------------------------------------------------------------------------

    def _names(self, text: str) -> list[Finding]:
        first, last = _gazetteer("first-names.tsv"), _gazetteer("surnames.tsv")
        tokens = [(m.start(), m.end(), m.group(0)) for m in _TOKEN.finditer(text)]
        out: list[Finding] = []
        lowered = text.lower()
        skip_until = -1
        for i, (start, end, word) in enumerate(tokens):
            if start < skip_until:
                continue
            key = _name_key(word)
            sentence_start = _sentence_start(text, start)
            capital = word[:1].isupper()
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            nxt_key = _name_key(nxt[2]) if nxt else ""
            if any(lowered.startswith(p, start) for p in self._places):
                skip_until = start + max(len(p) for p in self._places if lowered.startswith(p, start))
                continue
            if key in self._allow or key in _TEXT_SPEAK:
                continue
            if key in self._deny:
                out.append(Finding("name", start, end, 1.0, "a name on the configured list"))
                continue
            if key in TITLES and nxt and text[end:nxt[0]].strip() in ("", ".") and (
                    nxt[2][:1].isupper() or nxt_key in first or nxt_key in last) and not _after_is_place(text, nxt) \
                    and nxt_key not in _TITLE_NOT_NAME:
                stop = nxt[1]
                if i + 2 < len(tokens) and tokens[i + 2][2][:1].isupper() and tokens[i + 2][0] - stop <= 1 \
                        and tokens[i + 2][2].lower() in last:
                    stop = tokens[i + 2][1]
                out.append(Finding("name", start, stop, 0.95, f"a title ({word}) with a name"))
                skip_until = stop
                continue
            if len(key) < 2 or (word.isupper() and len(word) <= 4 and not text.isupper()):
                continue  # a letter, or an acronym (EDI, LUBS)
            if key in WEEKDAYS or key in TOWNS or key in _countries() or key in MONTHS and (
                    _BEFORE_DATE.search(text[max(0, start - 12):start]) or re.match(r"\s*\d", text[end:end + 3])):
                continue  # "on Tuesday", "from York", "in June", "May 2027"
            if re.search(r"\b(?:st|saint)\.?\s+$", text[max(0, start - 7):start], re.I):
                continue  # a saint's name is a place or a day ("St James's", "St Patrick's day")
            if _in_place_name(text, tokens, i):
                continue  # "Charles Thackrah building", "Henry Price flats"
            in_first, in_last = first.get(key), last.get(key)
            if in_first is None and "-" in key:  # "Kerry-Ann", "Mary-Jane"
                parts = [part for part in key.split("-") if part]
                if parts and all(part in first for part in parts):
                    in_first = (min(first[part][0] for part in parts), False)
            if in_first is None and key in NICKNAMES:
                in_first = (0.0, NICKNAMES[key])
            if in_first is None and in_last is None:
                # a capitalised word no list or dictionary holds, where the words around it speak of a
                # person ("Oksana cleans our floor", "Przemysław from Estates"): a name the lists lack
                if capital and key.isalpha() and not re.fullmatch(r"[A-Z]+s?", word) and key not in _words() \
                        and (_NAMED_BY.search(text[max(0, start - 30):start]) or _DOES.match(text, end)):
                    out.append(Finding("name", start, end, 0.5, "a word that reads as a name, by the words around it"))
                continue
            if _after_is_place(text, (start, end, word)):
                continue
            is_word = (in_first or (0.0, True))[1] and (in_last or (0.0, True))[1]
            # a surname after it makes both a name
            if nxt and nxt[0] - end <= 1 and nxt_key in last and (nxt[2][:1].isupper() or not last[nxt_key][1]) \
                    and (in_first is not None) and not _after_is_place(text, nxt) \
                    and (not is_word or (capital and nxt[2][:1].isupper())):
                out.append(Finding("name", start, nxt[1], 0.9, "a first name and a surname"))
                skip_until = nxt[1]
                continue
            # a first name before a capitalised word that is no English word: a surname the list lacks
            if in_first is not None and nxt and nxt[0] - end == 1 and nxt[2][:1].isupper() \
                    and nxt_key not in _words() and not _after_is_place(text, nxt) and (capital or not is_word):
                out.append(Finding("name", start, nxt[1], 0.85, "a first name and a surname"))
                skip_until = nxt[1]
                continue
            if is_word:
                # "grant", "will", "hope": a name only with a title or a surname, or where the words
                # around it speak of a person ("my name is Jade", "Rose in HR", "Frank the porter")
                if in_first is not None and capital and _person_context(text, start, end):
                    out.append(Finding("name", start, end, 0.6, "a first name, by the words around it"))
                continue
            if in_first is not None:
                out.append(Finding("name", start, end, 0.8 if capital else 0.7, "a first name"))
            elif capital and not sentence_start and in_last is not None and in_last[0] >= SURNAME_ALONE:
                out.append(Finding("name", start, end, 0.6, "a surname"))
        return out

    # -- descriptions that single someone out ----------------------------------------------------------

    def _singling_out(self, text: str) -> list[Finding]:
        out: list[Finding] = []
        for m in self._role.finditer(text):
            after = self._at.match(text, m.end())
            if after:
                out.append(Finding("singling-out", m.start(), after.end(), 0.7,
                                   "a role with a place or department: it may point at one person"))
            elif _one_holder(m.group(0)):
                # a role one person holds ("our HoS", "the head gardener"): it names them as surely
                # as their name
                out.append(Finding("singling-out", m.start(), m.end(), 0.6,
                                   "a role one person holds: it points at them"))
            elif _one_person(m.group(0)):
                # one person by a role many hold ("the porter", "my supervisor"): those who know the
                # writer know them, so a moderator looks ("a lecturer", "lecturers" pass)
                out.append(Finding("singling-out", m.start(), m.end(), 0.4,
                                   "one person by their role: it may point at them"))
        for m in re.finditer(r"\b(?:the\s+)?only\s+(?:\w+\s+){0,3}?(?:person|one|man|woman|lecturer|member|"
                             r"student|black|white|asian|gay|disabled|female|male|professor|researcher|staff|"
                             r"guy|girl|lady|pgr|phd|postgrad|undergrad|international|deaf|blind|wheelchair|"
                             r"trans|muslim|jewish|hindu|sikh|mature|parent|mum|dad|carer|lesbian|non-binary)\b"
                             r"[^.,;!?]*", text, re.I):
            out.append(Finding("singling-out", m.start(), m.end(), 0.6, "an \"only …\" description"))
        for m in re.finditer(r"\b(?:the\s+)?only\s+(?:\w+\s+){0,4}?(?:in|on|at|of)\s+(?:our|the|my)\s+\w+[^.,;!?]*",
                             text, re.I):
            out.append(Finding("singling-out", m.start(), m.end(), 0.6, "an \"only …\" description"))
        for m in re.finditer(r"(?<![\w'’])(?:the|t['’]|this|that)\s*(?:\w+\s+)?(?:" + PERSON[3:-1]
                             + r"|(?:phd\s+|pgr\s+|postgrad\s+|research\s+|mature\s+)?student)\s+"
                             r"(?:in\s+room|who|with\s+the|behind\s+the)\s+[^.,;!?]*"
                             r"|(?<![\w'’])(?:the|t['’]|this|that)\s*(?:\w+\s+)?" + PERSON
                             + r"\s+(?:in|at|on|from|behind|with|wi|who|who['’]s|whose|running|near|by)\s+[^.,;!?]*",
                             text, re.I):
            out.append(Finding("singling-out", m.start(), m.end(), 0.6, "a description of one person"))
        roles = "|".join(re.escape(r) for r in ROLES)
        # a role or a person with what they do or how they look: "the piper who plays at graduation",
        # "the groundsman wi the ginger beard"
        for m in re.finditer(r"(?<![\w'’])(?:the|my|our|ma|me|oor|t['’])\s*(?:[\w'’-]+\s+)?(?:" + PERSON[3:-1]
                             + r"|one|" + roles + r")\s+(?:who|that|who['’]s|whose)\s+\w+[^.,;!?]*"
                             r"|(?<![\w'’])(?:the|my|our|ma|me|oor|t['’])\s*(?:[\w'’-]+\s+)?(?:" + roles
                             + r")\s+(?:with|wi)\s+(?:the|a|an|his|her|their)\s+[^.,;!?]*", text, re.I):
            out.append(Finding("singling-out", m.start(), m.end(), 0.6, "a description of one person"))
        for place in self._places:
            for m in re.finditer(re.escape(place), text, re.I):
                window = text[m.end():m.end() + 60]
                t = re.search(TIME, window, re.I)
                if t:
                    out.append(Finding("singling-out", m.start(), m.end() + t.end(), 0.5,
                                       "a named place with a time"))
        return out

    # -- abuse --------------------------------------------------------------------------------------

    def _abuse_probs(self, texts: Sequence[str]) -> list[float]:
        # the classifier never sees what the lists say is harmless ("faggots and peas", "Scunthorpe")
        cleaned = [_SAFE.sub(" ", _clean(t[:MAX_SCREENED])) for t in texts]
        if not any(c.strip() for c in cleaned):
            return [0.0] * len(texts)
        return [float(p) for p in _classifier()(cleaned)]

    def _abuse(self, text: str) -> list[Finding]:
        out: list[Finding] = []
        lowered = text.lower()
        safe = [(m.start(), m.end()) for s in _SAFE_SUBSTRINGS for m in re.finditer(re.escape(s), lowered)]
        allowed = self._allow
        lexicon, phrases = _lexicon()
        for m in THREATS.finditer(text):
            out.append(Finding("abuse", m.start(), m.end(), 0.8, "a threat or a hostile demand"))
        # letters spaced out ("s h i t") are read as one word
        for m in HATE.finditer(text):
            out.append(Finding("abuse", m.start(), m.end(), 0.7, "a hateful generalisation about a group"))
        for m in re.finditer(r"\b(?:[a-z][ .\-]){2,}[a-z]\b", text, re.I):
            joined = re.sub(r"[ .\-]", "", m.group(0)).lower()
            if joined in _STRONG or joined.rstrip("s") in _STRONG or joined in _ABOUT_PEOPLE:
                out.append(Finding("abuse", m.start(), m.end(), 0.9, "an abusive word, spaced out"))
        for m in re.finditer(r"(?<![\w*@#$!])[\w*@#$!]*[\w*]", text):
            word = m.group(0).lower()
            decoded = word.translate(_LEET)
            if any(c in word for c in "*@#$!130") and any(r in decoded for r in _ROOTS) \
                    and not any(a <= m.start() < b for a, b in safe):
                out.append(Finding("abuse", m.start(), m.end(), 0.85, "an abusive word, disguised"))
                continue
            if "*" in word or any(c in word for c in "@#$!") and word[:1].isalpha():
                pattern = re.compile("^" + "".join("." if c in "*@#$!" else re.escape(c) for c in word) + "$")
                if any(pattern.match(w) or pattern.match(w + "s") for w in _STRONG) \
                        and not any(a <= m.start() < b for a, b in safe):
                    out.append(Finding("abuse", m.start(), m.end(), 0.85, "an abusive word, disguised"))
        for m in _TOKEN.finditer(text):
            word = m.group(0).lower().strip("'’-")
            if word in allowed or any(a <= m.start() < b for a, b in safe):
                continue
            stem = _singular(word)
            if word in _STRONG or stem in _STRONG or any(r in word for r in _ROOTS) \
                    or word in lexicon or stem in lexicon:
                out.append(Finding("abuse", m.start(), m.end(), 0.9, "an abusive or offensive word"))
            elif (word in _ABOUT_PEOPLE or stem in _ABOUT_PEOPLE) \
                    and (_PEOPLE.search(text[max(0, m.start() - 25):m.start()])
                         or _PEOPLE_AFTER.match(text[m.end():m.end() + 30])):
                out.append(Finding("abuse", m.start(), m.end(), 0.6, "an insult aimed at someone"))
        if phrases is not None:
            for m in phrases.finditer(text):
                if not any(a <= m.start() < b for a, b in safe):
                    out.append(Finding("abuse", m.start(), m.end(), 0.9, "an abusive or offensive phrase"))
        for m in OBFUSCATED.finditer(text):
            if not any(a <= m.start() < b for a, b in safe) and m.group(0).lower() not in allowed:
                out.append(Finding("abuse", m.start(), m.end(), 0.9, "an abusive word, disguised"))
        prob = self._prob if self._prob is not None else self._abuse_probs([text])[0]
        if prob >= self.settings.abuse_threshold and not out:
            out.append(Finding("abuse", 0, len(text), prob, f"reads as abusive or offensive ({prob:.0%} sure)"))
        return out


@cache
def _words() -> frozenset[str]:
    """Lower-case English words (SCOWL's British English list, shipped in ``data/``)."""
    raw = resources.files(__package__).joinpath("data", "english-words.txt.gz").read_bytes()
    return frozenset(gzip.decompress(raw).decode("utf-8").split()) | frozenset(PLACE_WORDS)


@cache
def _lexicon() -> tuple[frozenset[str], re.Pattern[str] | None]:
    """Abusive words no ordinary English word shares, and abusive phrases (Surge AI's list, shipped in
    ``data/abusive-words.txt``): held wherever they are written."""
    lines = resources.files(__package__).joinpath("data", "abusive-words.txt").read_text("utf-8").splitlines()
    terms = [t.strip() for t in lines if t.strip() and not t.startswith("#")]
    phrases = sorted((t for t in terms if " " in t), key=len, reverse=True)
    pattern = re.compile(r"\b(?:" + "|".join(r"\s+".join(map(re.escape, p.split())) for p in phrases) + r")\b", re.I)
    return frozenset(t for t in terms if " " not in t), pattern if phrases else None


_BEFORE_NAME = re.compile(r"(?:\bname\s+is|\bi\s*['’]?\s*a?m|\bcalled|\bask\s+for|\bthanks?(?:\s+you)?(?:\s+to)?|"
                          r"\bspeak\s+to|\btalk\s+to|\bcontact|\blike|\band|\bwith|\bby|\bsigned|\bfrom)\s*[,:]?\s*$",
                          re.I)
_AFTER_NAME = re.compile(r"\s*(?:,\s*)?(?:(?:in|from|at)\s+(?:the\s+)?(?:[A-Z]\w+|" + "|".join(PLACE_WORDS) + r")\b"
                         r"|the\s+(?:" + "|".join(re.escape(r) for r in ROLES) + r")\b"
                         r"|on\s+(?:the\s+)?(?:" + "|".join(PLACE_WORDS) + r")\b"
                         r"|(?:runs|ran|organised|organized|sorted|helped|told|teaches|taught|works|worked|retires|"
                         r"cleans|cleaned|fixed|fixes|looks\s+after|is\s+(?:a|an|the|our|my)\s+|"
                         r"said|says|gave|makes|made|shouted|always|never|deserves|should\s+be)\b)", re.I)


_LEET = str.maketrans({"$": "s", "@": "a", "1": "i", "!": "i", "3": "e", "0": "o", "*": "u", "#": "u"})


def _singular(word: str) -> str:
    """A plural's singular, as far as the word lists need it ("numpties", "muppets", "wankers")."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("es") and word[:-2].endswith(("ch", "sh", "ss")):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _one_person(role: str) -> bool:
    """A determiner and a singular role, not "a"/"an" ("my tutor", not "a tutor" or "the tutors")."""
    words = role.lower().split()
    return words[0] not in ("a", "an") and (not words[-1].endswith("s") or words[-1].endswith(("ss", "us")))


def _one_holder(role: str) -> bool:
    """A determiner and a role ("our HoS", "the new registrar") that one person holds: a unique
    role after any determiner but "a"/"an"."""
    words = role.split()
    if words[0].lower() in ("a", "an"):
        return False
    if len(words) > 1 and all(w[:1].isupper() for w in words[1:]) and not words[-1].endswith("s"):
        return True  # an office in capitals ("the University Secretary")
    rest = " ".join(words[1:]).lower()
    return any(rest == r or rest.endswith(" " + r) for r in UNIQUE_ROLES)


def _name_key(word: str) -> str:
    """How a word is looked up in the name lists: lower case, no possessive, no accents, no
    apostrophe inside ("Zoë's" -> "zoe", "O'Neill" -> "oneill")."""
    key = re.sub(r"['’]s$", "", word.lower()).strip("'’-")
    key = "".join(c for c in unicodedata.normalize("NFKD", key) if not unicodedata.combining(c))
    return key.replace("'", "").replace("’", "")


def _in_place_name(text: str, tokens: Sequence[tuple[int, int, str]], i: int) -> bool:
    """The word begins or continues a run of capitalised words that names a place ("Charles
    Thackrah building", "Marjorie and Arnold Ziff Building")."""
    j = i
    while j + 1 < len(tokens) and tokens[j + 1][2][:1].isupper() and tokens[j + 1][0] - tokens[j][1] <= 1:
        j += 1
    return j > i and _after_is_place(text, tokens[j])


# what marks a word no list holds as a person's name: being called one, or doing what people do
_NAMED_BY = re.compile(r"(?:\bname\s+is|\bcalled|\bask\s+for|\bthanks?(?:\s+you)?(?:\s+to)?|\bspeak\s+to|"
                       r"\btalk\s+to|\bsigned)\s*[,:]?\s*$", re.I)
_DOES = re.compile(r"\s*(?:,\s*)?(?:(?i:in|from|at|on)\s+(?:(?i:the)\s+)?(?:[A-Z][\w&'-]+|(?i:"
                   + "|".join(PLACE_WORDS) + r"))\b"
                   r"|(?i:the\s+(?:" + "|".join(re.escape(r) for r in ROLES) + r")\b)"
                   r"|(?i:runs|ran|organised|organized|sorted|helped|told|teaches|taught|works|worked|retires|"
                   r"cleans|cleaned|fixed|fixes|said|says|gave|makes|made|shouted|deserves|looks\s+after)\b)")


def _person_context(text: str, start: int, end: int) -> bool:
    return bool(_BEFORE_NAME.search(text[max(0, start - 30):start]) or _AFTER_NAME.match(text, end))


def _sentence_start(text: str, start: int) -> bool:
    before = text[:start].rstrip()
    return not before or before[-1] in ".!?\n:;\"(-"


def _after_is_place(text: str, token: tuple[int, int, str]) -> bool:
    """The word is part of a building's or a room's name ("Parkinson Building", "Grant Hall")."""
    return bool(re.match(r"\s+(?:building|library|hall|halls|house|centre|center|theatre|lecture|court|road|flats|"
                         r"street|lane|park|wing|room|quarter|market|arcade|station|campus|village|square|"
                         r"group|bowl|institute|museum|gallery|bridge|square|prize|award|"
                         r"scholarship|fund|funding|report|act|law|effect|syndrome|disease)\b",
                         text[token[1]:token[1] + 20], re.I))


def _merge(found: list[Finding]) -> list[Finding]:
    """Findings by position; overlapping findings of one kind become one, with the higher score."""
    out: list[Finding] = []
    for f in sorted(found, key=lambda f: (f.kind, f.start, -f.end)):
        last = out[-1] if out and out[-1].kind == f.kind else None
        if last is not None and f.start < last.end:
            out[-1] = Finding(f.kind, last.start, max(last.end, f.end), max(last.score, f.score),
                              last.reason if last.score >= f.score else f.reason)
        else:
            out.append(f)
    return sorted(out, key=lambda f: (f.start, f.end, f.kind))


def redact(text: str, spans: Iterable[tuple[int, int, str]]) -> str:
    """``text`` with each (start, end, kind) span replaced by its kind's placeholder (overlaps joined)."""
    ordered = sorted(spans)
    merged: list[list[Any]] = []
    for start, end, kind in ordered:
        if not 0 <= start < end <= len(text):
            raise ValueError(f"the span {start}-{end} is not inside the text ({len(text)} characters)")
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end, kind])
    out, at = [], 0
    for start, end, kind in merged:
        out.append(text[at:start])
        out.append(REPLACEMENT.get(kind, "[removed]"))
        at = end
    out.append(text[at:])
    return "".join(out)
