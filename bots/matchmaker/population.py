"""A made-up Danish population for measuring matching: seeded, so every run is the same.

Modelled loosely on Denmark: the 98 municipalities with their approximate number of
inhabitants and one postcode each (volunteers lean towards the towns), interests
with Zipf-like popularity plus interests in people's own words, citizens aged 50-89
mostly speaking Danish with minority languages among them, contact modes, weekly
time slots in the patterns of retirees, workers and students, volunteer capacities
of 1, 2 or 3 (about 60/28/12 %), and peer citizens. Nobody here exists.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from bots.matchmaker.scoring import MatchPreferences, Profile, Role
from connec.interests import InterestSet, PersonalInterest, taxonomy
from connec.municipalities import MUNICIPALITIES
from connec.people import DAYS, SLOTS

SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000}
VOLUNTEER_SHARE = 0.30
PEER_SHARE = 0.10
OWN_WORDS = 3_000  # distinct interests in people's own words

# (municipality, inhabitants in thousands, a postcode in it); approximate.
PLACES: tuple[tuple[str, float, str], ...] = (
    ("København", 660, "2300"), ("Aarhus", 365, "8000"), ("Aalborg", 222, "9000"),
    ("Odense", 207, "5000"), ("Vejle", 120, "7100"), ("Esbjerg", 116, "6700"),
    ("Frederiksberg", 105, "2000"), ("Randers", 99, "8900"), ("Viborg", 98, "8800"),
    ("Horsens", 98, "8700"), ("Silkeborg", 96, "8600"), ("Kolding", 94, "6000"),
    ("Herning", 90, "7400"), ("Roskilde", 90, "4000"), ("Næstved", 84, "4700"),
    ("Slagelse", 80, "4200"), ("Gentofte", 75, "2820"), ("Sønderborg", 73, "6400"),
    ("Holbæk", 73, "4300"), ("Gladsaxe", 70, "2860"), ("Hjørring", 64, "9800"),
    ("Helsingør", 63, "3000"), ("Skanderborg", 63, "8660"), ("Køge", 62, "4600"),
    ("Guldborgsund", 60, "4800"), ("Frederikshavn", 59, "9900"), ("Holstebro", 59, "7500"),
    ("Svendborg", 59, "5700"), ("Aabenraa", 58, "6200"), ("Høje-Taastrup", 57, "2630"),
    ("Rudersdal", 57, "2840"), ("Lyngby-Taarbæk", 57, "2800"), ("Ringkøbing-Skjern", 56, "6950"),
    ("Haderslev", 55, "6100"), ("Hvidovre", 54, "2650"), ("Faaborg-Midtfyn", 52, "5600"),
    ("Fredericia", 52, "7000"), ("Hillerød", 52, "3400"), ("Greve", 51, "2670"),
    ("Varde", 50, "6800"), ("Kalundborg", 49, "4400"), ("Ballerup", 49, "2750"),
    ("Favrskov", 49, "8450"), ("Hedensted", 47, "8722"), ("Skive", 46, "7800"),
    ("Frederikssund", 46, "3600"), ("Vordingborg", 45, "4760"), ("Egedal", 44, "3650"),
    ("Syddjurs", 43, "8410"), ("Thisted", 43, "7700"), ("Tårnby", 43, "2770"),
    ("Vejen", 43, "6600"), ("Mariagerfjord", 42, "9500"), ("Ikast-Brande", 41, "7430"),
    ("Assens", 41, "5610"), ("Furesø", 41, "3520"), ("Fredensborg", 41, "3480"),
    ("Rødovre", 41, "2610"), ("Gribskov", 41, "3200"), ("Lolland", 40, "4900"),
    ("Middelfart", 39, "5500"), ("Bornholm", 39, "3700"), ("Brøndby", 39, "2605"),
    ("Jammerbugt", 38, "9440"), ("Norddjurs", 37, "8500"), ("Vesthimmerland", 37, "9600"),
    ("Tønder", 37, "6270"), ("Faxe", 37, "4640"), ("Brønderslev", 36, "9700"),
    ("Ringsted", 36, "4100"), ("Odsherred", 33, "4500"), ("Nyborg", 32, "5800"),
    ("Halsnæs", 31, "3300"), ("Herlev", 30, "2730"), ("Sorø", 30, "4180"),
    ("Rebild", 30, "9520"), ("Nordfyns", 29, "5400"), ("Albertslund", 28, "2620"),
    ("Lejre", 28, "4330"), ("Billund", 27, "7190"), ("Allerød", 26, "3450"),
    ("Hørsholm", 25, "2970"), ("Kerteminde", 24, "5300"), ("Solrød", 24, "2680"),
    ("Stevns", 23, "4660"), ("Ishøj", 23, "2635"), ("Glostrup", 23, "2600"),
    ("Odder", 23, "8300"), ("Struer", 21, "7600"), ("Morsø", 20, "7900"),
    ("Lemvig", 19, "7620"), ("Vallensbæk", 17, "2625"), ("Dragør", 14, "2791"),
    ("Langeland", 12, "5900"), ("Ærø", 6, "5970"), ("Samsø", 3.7, "8305"),
    ("Fanø", 3.4, "6720"), ("Læsø", 1.8, "9940"),
)  # fmt: skip
assert {name for name, _, _ in PLACES} == set(MUNICIPALITIES)

# Languages besides Danish, with how many in a thousand speak them (roughly).
MINORITY_LANGUAGES = (("ar", 12), ("tr", 10), ("pl", 8), ("ur", 4), ("so", 3), ("fa", 4),
                      ("bs", 4), ("de", 10), ("uk", 6), ("ro", 4))  # fmt: skip
# Who has time when: chance of each part of the day on weekdays and weekends.
RHYTHMS = {
    "retiree": {"am": 0.45, "pm": 0.40, "eve": 0.10, "weekend": 0.25},
    "worker": {"am": 0.02, "pm": 0.05, "eve": 0.35, "weekend": 0.35},
    "student": {"am": 0.05, "pm": 0.25, "eve": 0.30, "weekend": 0.25},
}


def _zipf_weights(count: int, exponent: float) -> list[float]:
    return [1.0 / (rank + 1) ** exponent for rank in range(count)]


class _Draw:
    """The random choices, made once per population."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        keys = sorted(taxonomy().interests)
        self.rng.shuffle(keys)
        self.keys = keys
        self.key_weights = _zipf_weights(len(keys), 1.0)
        self.own_weights = _zipf_weights(OWN_WORDS, 1.1)
        self.places = [name for name, _, _ in PLACES]
        self.postcodes = {name: postcode for name, _, postcode in PLACES}
        self.citizen_places = [people for _, people, _ in PLACES]
        # Volunteers lean urban: more of them where more people live together.
        self.volunteer_places = [people**1.3 for _, people, _ in PLACES]

    def interests(self) -> InterestSet:
        rng = self.rng
        count = rng.choice((2, 3, 3, 4, 4, 5, 5, 6, 7, 8))
        keys = frozenset(rng.choices(self.keys, self.key_weights, k=count))
        personal: tuple[PersonalInterest, ...] = ()
        if rng.random() < 0.25:
            picked = set(rng.choices(range(OWN_WORDS), self.own_weights, k=rng.choice((1, 1, 2))))
            personal = tuple(PersonalInterest(f"egen {n}", f"Egen interesse {n}") for n in picked)
        return InterestSet(keys, personal)

    def languages(self, citizen: bool) -> frozenset[str]:
        rng = self.rng
        spoken = {"da"}
        if rng.random() < (0.35 if citizen else 0.75):
            spoken.add("en")
        for code, per_thousand in MINORITY_LANGUAGES:
            if rng.random() * 1000 < per_thousand * (1.0 if citizen else 1.5):
                spoken.add(code)
                if citizen and rng.random() < 0.25:
                    spoken.discard("da")  # a few manage only in their first language
        return frozenset(spoken)

    def modes(self, citizen: bool) -> frozenset[str]:
        rng = self.rng
        chances = (0.85, 0.80, 0.45) if citizen else (0.97, 0.85, 0.80)
        modes = {
            m for m, c in zip(("chat", "voice", "video"), chances, strict=True) if rng.random() < c
        }
        return frozenset(modes or {"voice"})

    def slots(self, rhythm: str) -> frozenset[str]:
        rng = self.rng
        chance = RHYTHMS[rhythm]
        chosen = set()
        for day in DAYS:
            weekend = day in ("sat", "sun")
            for part in ("am", "pm", "eve"):
                p = chance["weekend"] if weekend else chance[part]
                if rng.random() < p:
                    chosen.add(f"{day}-{part}")
        return frozenset(slot for slot in SLOTS if slot in chosen)

    def prefs(self, today_year: int) -> MatchPreferences:
        rng = self.rng
        gender = "female" if rng.random() < 0.08 else ("male" if rng.random() < 0.02 else None)
        age_min = age_max = None
        if rng.random() < 0.05:
            age_min = rng.choice((18, 25, 30, 40))
            age_max = age_min + rng.choice((20, 30, 40))
        return MatchPreferences(
            partner_gender=gender, age_min=age_min, age_max=age_max, near_me=rng.random() < 0.10
        )


def population(citizens: int, *, seed: int = 2025, today_year: int = 2025) -> list[Profile]:
    """``citizens`` citizens, 30 % as many volunteers and 10 % as many peers.

    Person ids run from 1: citizens first, then volunteers, then peers.
    """
    draw = _Draw(seed)
    rng = draw.rng
    people: list[Profile] = []
    counts: Sequence[tuple[Role, int]] = (
        ("citizen", citizens),
        ("volunteer", round(citizens * VOLUNTEER_SHARE)),
        ("peer", round(citizens * PEER_SHARE)),
    )
    for role, count in counts:
        volunteer = role == "volunteer"
        places = rng.choices(
            draw.places, draw.volunteer_places if volunteer else draw.citizen_places, k=count
        )
        for place in places:
            if volunteer:
                rhythm = rng.choices(("worker", "student", "retiree"), (0.55, 0.15, 0.30))[0]
                age = {"worker": rng.randint(25, 66), "student": rng.randint(18, 28)}.get(
                    rhythm, rng.randint(62, 80)
                )
                capacity = rng.choices((1, 2, 3), (60, 28, 12))[0]
            else:
                rhythm = "retiree" if rng.random() < 0.85 else "worker"
                age = min(89, 50 + int(rng.betavariate(2.2, 1.8) * 40))
                capacity = 1
            people.append(
                Profile(
                    person_id=len(people) + 1,
                    role=role,
                    display_name=f"Person {len(people) + 1}",
                    birth_year=today_year - age,
                    gender="female" if rng.random() < (0.62 if not volunteer else 0.70) else "male",
                    postcode=draw.postcodes[place],
                    municipality=place,
                    languages=draw.languages(citizen=not volunteer),
                    interests=draw.interests(),
                    contact_modes=draw.modes(citizen=not volunteer),
                    availability=draw.slots(rhythm),
                    prefs=draw.prefs(today_year),
                    capacity=capacity,
                )
            )
    return people
