"""People as numbers: the profiles of a round coded as arrays the scoring kernel reads.

:func:`encode` turns :class:`~bots.matchmaker.scoring.Profile` objects into flat
numpy arrays (interest bitsets, integer-coded languages, modes, slots, places and
wishes), so that :mod:`bots.matchmaker.kernels` can score millions of pairs a
second with exactly the rules and weights of :func:`bots.matchmaker.scoring.score`.
Nothing here decides who is matched; it only changes how people are written down.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bots.matchmaker.scoring import InterestWeights, Profile, postcode_area
from connec.interests import interest, taxonomy
from connec.people import CONTACT_MODES, SLOTS

# Fixed-point scores: the solver is exact on integers, as the old engine was.
SCALE = 1_000_000
NO_ID = -1
DANISH_BIT = 1  # languages are bits; Danish is always bit 0

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]
BOOL = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class EncodedPeople:
    """Everyone of a round, one row per person in ``person_ids`` order.

    Interest keys are bits of ``keys`` (``words`` uint64 words per person) with their
    weight in ``key_weight`` and their taxonomy group's bit in ``key_group``;
    personal interests are sorted ids in ``stems`` (row ``i`` is
    ``stems[stem_start[i]:stem_start[i+1]]``), with a one-word signature to skip
    pairs that cannot share one. ``-1`` means "not told" in the integer columns.
    """

    person_ids: I64
    keys: U64  # (n, words)
    key_weight: F64
    key_group: U64
    groups: U64
    stems: I32
    stem_start: I64
    stem_signature: U64
    stem_weight: F64
    slots: U64
    languages: U64
    modes: U64
    municipality: I32
    area: I32
    gender: I32
    wanted_gender: I32
    birth_year: I32
    age_min: I32
    age_max: I32
    near_me: BOOL
    today_year: int
    codebook: Codebook

    @property
    def size(self) -> int:
        return len(self.person_ids)

    @property
    def picky(self) -> BOOL:
        """Who has a hard wish (gender, age, near) that must be checked pair by pair."""
        wishes: BOOL = (
            (self.wanted_gender >= 0) | (self.age_min >= 0) | (self.age_max >= 0) | self.near_me
        )
        return wishes

    def side(self, rows: npt.NDArray[np.int32]) -> tuple[npt.NDArray[Any], ...]:
        """The per-person arrays of ``rows`` only, in that order, as the kernels take them.

        A copy, so that the kernel reads one side of a round front to back.
        """
        counts = self.stem_start[rows + 1] - self.stem_start[rows]
        start = np.zeros(len(rows) + 1, dtype=np.int64)
        start[1:] = np.cumsum(counts)
        # Where each kept stem lies in self.stems: its row's old start, then onwards.
        shift = np.repeat(self.stem_start[rows] - start[:-1], counts)
        stems = self.stems[shift + np.arange(int(start[-1]), dtype=np.int64)]
        return (
            np.ascontiguousarray(self.keys[rows]),
            self.groups[rows],
            stems.astype(np.int32),
            start,
            self.stem_signature[rows],
            self.slots[rows],
            self.languages[rows],
            self.modes[rows],
            self.municipality[rows],
            self.area[rows],
            self.gender[rows],
            self.wanted_gender[rows],
            self.birth_year[rows],
            self.age_min[rows],
            self.age_max[rows],
            self.near_me[rows],
            self.picky[rows],
            self.person_ids[rows],
        )

    def shared(self) -> tuple[Any, ...]:
        """What both sides of a round share: the weights, and this year."""
        return (self.key_weight, self.key_group, self.stem_weight, np.int64(self.today_year))

    def row_of(self) -> dict[int, int]:
        """Row number by person id."""
        return {int(pid): row for row, pid in enumerate(self.person_ids)}


class _Codes:
    """Small integer codes for strings, first come first served."""

    def __init__(self, first: Sequence[str] = ()) -> None:
        self.codes: dict[str, int] = {}
        for text in first:
            self.of(text)

    def of(self, text: str | None) -> int:
        if not text:
            return NO_ID
        return self.codes.setdefault(text, len(self.codes))

    def copy(self) -> _Codes:
        twin = _Codes()
        twin.codes = dict(self.codes)
        return twin


@dataclass
class Codebook:
    """The codes one encoding used, so that one more person can be coded alike later."""

    keys: _Codes
    groups: _Codes
    stems: _Codes
    languages: _Codes
    municipalities: _Codes
    areas: _Codes
    genders: _Codes

    @classmethod
    def new(cls) -> Codebook:
        return cls(
            keys=_Codes(sorted(taxonomy().interests)),
            groups=_Codes(sorted(taxonomy().groups)),
            stems=_Codes(),
            languages=_Codes(["da"]),
            municipalities=_Codes(),
            areas=_Codes(),
            genders=_Codes(),
        )

    def copy(self) -> Codebook:
        return Codebook(**{name: codes.copy() for name, codes in vars(self).items()})


def encode(
    profiles: Sequence[Profile],
    *,
    weights: InterestWeights,
    today_year: int,
    like: EncodedPeople | None = None,
) -> EncodedPeople:
    """The arrays for ``profiles`` (kept in the given order), with ``weights``.

    With ``like``, coded with the same codes as that encoding (extended where
    someone brings something new), so the two can be scored against each other.
    """
    n = len(profiles)
    book = like.codebook.copy() if like is not None else Codebook.new()
    key_codes, group_codes, stem_codes = book.keys, book.groups, book.stems
    for profile in profiles:
        for key in sorted(profile.interests.keys):
            key_codes.of(key)
    if len(group_codes.codes) > 64:
        raise ValueError("more than 64 interest groups do not fit one bitset word")
    words = max(1, (len(key_codes.codes) + 63) // 64)
    if like is not None:
        words = like.keys.shape[1]  # a key beyond them is one nobody coded before shares
    key_weight = np.array([weights.interest(key) for key in key_codes.codes], dtype=np.float64)
    key_group = np.zeros(len(key_codes.codes), dtype=np.uint64)
    for key, code in key_codes.codes.items():
        found = interest(key)
        if found is not None:
            key_group[code] = np.uint64(1) << np.uint64(group_codes.of(found.group))

    language_codes, municipality_codes = book.languages, book.municipalities
    area_codes, gender_codes = book.areas, book.genders
    slot_bit = {slot: 1 << index for index, slot in enumerate(SLOTS)}
    mode_bit = {mode: 1 << index for index, mode in enumerate(CONTACT_MODES)}

    keys = np.zeros((n, words), dtype=np.uint64)
    groups = np.zeros(n, dtype=np.uint64)
    stem_lists: list[list[int]] = []
    columns = {
        name: np.full(n, NO_ID, dtype=np.int32)
        for name in ("municipality", "area", "gender", "wanted", "birth", "age_min", "age_max")
    }
    slots = np.zeros(n, dtype=np.uint64)
    languages = np.zeros(n, dtype=np.uint64)
    modes = np.zeros(n, dtype=np.uint64)
    near_me = np.zeros(n, dtype=np.bool_)
    for row, profile in enumerate(profiles):
        for key in profile.interests.keys:
            code = key_codes.of(key)
            if code < 64 * words:
                keys[row, code // 64] |= np.uint64(1) << np.uint64(code % 64)
            groups[row] |= key_group[code]
        stem_lists.append(sorted(stem_codes.of(stem) for stem in profile.interests.stems))
        slots[row] = sum(slot_bit.get(slot, 0) for slot in profile.availability)
        language_mask = 0
        for language in sorted(profile.languages):
            bit = language_codes.of(language)
            if bit >= 64:
                raise ValueError("more than 64 languages do not fit one bitset word")
            language_mask |= 1 << bit
        languages[row] = language_mask
        modes[row] = sum(mode_bit.get(mode, 0) for mode in profile.contact_modes)
        if profile.municipality:
            columns["municipality"][row] = municipality_codes.of(profile.municipality.casefold())
        columns["area"][row] = area_codes.of(postcode_area(profile.postcode))
        columns["gender"][row] = gender_codes.of(profile.gender and profile.gender.casefold())
        wanted = profile.prefs.partner_gender
        columns["wanted"][row] = gender_codes.of(wanted and wanted.casefold())
        if profile.birth_year is not None:
            columns["birth"][row] = profile.birth_year
        # An age bound of -1 means none; ages are never negative.
        if profile.prefs.age_min is not None:
            columns["age_min"][row] = profile.prefs.age_min
        if profile.prefs.age_max is not None:
            columns["age_max"][row] = profile.prefs.age_max
        near_me[row] = profile.prefs.near_me

    stem_start = np.zeros(n + 1, dtype=np.int64)
    stem_start[1:] = np.cumsum([len(stems) for stems in stem_lists])
    stems = np.array([s for stems in stem_lists for s in stems], dtype=np.int32)
    stem_signature = np.zeros(n, dtype=np.uint64)
    for row, row_stems in enumerate(stem_lists):
        for stem in row_stems:
            stem_signature[row] |= np.uint64(1) << np.uint64(stem % 64)
    stem_weight = np.array([weights.personal(stem) for stem in stem_codes.codes], dtype=np.float64)

    return EncodedPeople(
        person_ids=np.array([profile.person_id for profile in profiles], dtype=np.int64),
        keys=keys,
        key_weight=key_weight,
        key_group=key_group,
        groups=groups,
        stems=stems,
        stem_start=stem_start,
        stem_signature=stem_signature,
        stem_weight=stem_weight if len(stem_weight) else np.zeros(1, dtype=np.float64),
        slots=slots,
        languages=languages,
        modes=modes,
        municipality=columns["municipality"],
        area=columns["area"],
        gender=columns["gender"],
        wanted_gender=columns["wanted"],
        birth_year=columns["birth"],
        age_min=columns["age_min"],
        age_max=columns["age_max"],
        near_me=near_me,
        today_year=today_year,
        codebook=book,
    )
