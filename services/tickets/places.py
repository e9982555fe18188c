"""Where a report is (issue 14): the comparable form of an address, the building or landmark
a text names, and the distance between two points — what makes two reports "near" for
:mod:`services.tickets.suggest`. Pure functions and values: no database, no nameko.

Place names and numbered references (东村社区, 3号楼, 2单元, 101室) say where, not what: the
suggestion engine reads them here and takes them out of the text before it reads what the
problem is.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

_EARTH_RADIUS_M = 6_371_008.8
#: Punctuation and spaces (addresses are compared without them; so are a text's words).
PUNCTUATION = re.compile(r"[\s,，.。、;；:：!！?？'\"“”‘’()（）\[\]【】<>《》~～\-—_/\\|]+")

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}  # fmt: skip
_NUMERAL = r"[0-9]+|[零〇一二两三四五六七八九十百]+"
_WIDE_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
_CN_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百]+(?=号楼|号|栋|幢|单元|层|楼|室)")
_BUILDING_SPELLING = re.compile(r"([0-9]+)\s*(?:号楼|号栋|栋|幢|#楼|#|号(?=\s*[0-9]+\s*单元))")
_BUILDING = rf"(?P<building>{_NUMERAL})\s*(?:号楼|号栋|栋|幢|#楼|#)"
_PLACE_REFERENCE = re.compile(rf"(?:{_NUMERAL})\s*(?:号楼|号栋|栋|幢|#楼|#|单元|层|楼|室|号)|[0-9]+")  # fmt: skip
_ADMIN_PREFIXES = (
    re.compile(r"^[\u4e00-\u9fff]{2,6}?(?:省|自治区)"),
    re.compile(r"^[\u4e00-\u9fff]{2,4}市(?!场)"),
    re.compile(r"^[\u4e00-\u9fff]{2,4}县"),
    re.compile(r"^[\u4e00-\u9fff]{2,5}?(?:镇|乡|街道)(?![上里])"),
)
_COMMUNITY_AT_START = re.compile(r"\s*([\u4e00-\u9fff]{2,4}?(?:社区|小区))")
_FILLER = re.compile(
    r"门口|门前|附近|旁边|边上|对面|跟前|前面|前头|后面|后头|(?<!号)楼[下前后]|外面|外边|外头|"
    r"里面|周围|一带|那边|这边|那里|这里|那块|[东西南北](?:侧|边|面)"
)


def _cn_to_int(numeral: str) -> int:
    """一 → 1, 十五 → 15, 二十三 → 23, 一百零一 → 101, 三零二 → 302 (digit by digit)."""
    if numeral.isdigit():
        return int(numeral)
    if "十" not in numeral and "百" not in numeral:
        return int("".join(str(_CN_DIGITS[ch]) for ch in numeral))
    total = current = 0
    for ch in numeral:
        if ch in "十百":
            total += (current or 1) * (10 if ch == "十" else 100)
            current = 0
        else:
            current = _CN_DIGITS[ch]
    return total + current


def _spellings(number: int) -> set[str]:
    """How a building number may be written: 12, １２, 十二, 一二."""
    digits = str(number)
    cn = "零一二三四五六七八九"
    spelled = {digits, digits.translate(_WIDE_DIGITS), "".join(cn[int(d)] for d in digits)}
    tens, ones = divmod(number, 10)
    if 10 <= number < 100:
        spelled.add(("" if tens == 1 else cn[tens]) + "十" + (cn[ones] if ones else ""))
    return spelled


def normalise_text(text: str | None) -> str:
    """Full-width → half-width (NFKC), Chinese numerals numbering a building, unit, floor or
    room → digits, one spelling of a building: ``东村社区三栋２单元`` → ``东村社区3号楼2单元``."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _CN_NUMBER.sub(lambda m: str(_cn_to_int(m.group(0))), text)
    return _BUILDING_SPELLING.sub(r"\1号楼", text)


def normalise_address(text: str | None) -> str:
    """The comparable form of an address: :func:`normalise_text`, without the administrative
    prefix (省/市/县/镇), spaces, punctuation and filler (门口/附近/旁边/楼下…).

    ``河南省郑州市中牟县雁鸣湖镇东村社区 6 号楼 1 单元 101 室`` → ``东村社区6号楼1单元101室``;
    ``东村社区三号楼门口`` → ``东村社区3号楼``; ``雁鸣湖镇菜市场`` → ``菜市场``.
    """
    text = PUNCTUATION.sub("", normalise_text(text))
    for prefix in _ADMIN_PREFIXES:
        text = prefix.sub("", text, count=1)
    return _FILLER.sub("", text)


def building_of(text: str | None, communities: Iterable[str] = ()) -> str | None:
    """The building a text names, as ``<community>N号楼`` (``东村社区3号楼``), ``N号楼`` when
    the community can't be told, or None. ``communities``: the center's community names
    (``东村社区``), recognised anywhere in the text, also without 社区 (``东村3号楼``);
    without them, only a community that starts the (normalised) address is."""
    place = Gazetteer.of(communities).place(normalise_address(text))
    if place.building is None:
        return None
    return f"{place.community or ''}{place.building}号楼"


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS-84 points (degrees)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


# ---------------------------------------------------------------------------- places

#: A landmark as (what it belongs to, its name): ("卫生院", "大门") is the clinic's gate,
#: ("东漳社区", "大门") the community's, (None, "大门") a gate the text doesn't place.
Landmark = tuple[str | None, str]


@dataclass(frozen=True)
class Place:
    community: str | None = None  # canonical name: 东村社区
    building: int | None = None
    landmarks: frozenset[Landmark] = frozenset()
    address: str = ""  # the normalised address field, when it says more than a community

    def __bool__(self) -> bool:
        return self.building is not None or bool(self.landmarks) or bool(self.address)

    def merged(self, other: Place) -> Place:
        return Place(
            self.community or other.community,
            self.building if self.building is not None else other.building,
            self.landmarks | other.landmarks,
            self.address or other.address,
        )

    def same_as(self, other: Place) -> bool:
        """The same address; or the same building, or landmark (of the same community or
        place, or one of them doesn't say whose), in the same community if both say."""
        if self.address and self.address == other.address:
            return True
        if self.community and other.community and self.community != other.community:
            return False
        if self.building is not None or other.building is not None:
            return self.building == other.building
        return any(
            name == other_name and (owner == other_owner or None in (owner, other_owner))
            for owner, name in self.landmarks
            for other_owner, other_name in other.landmarks
        )

    def clues(self, names: Mapping[str, tuple[str, bool]]) -> tuple[str, ...]:
        """Strings one of which a text must contain to name the same building or landmark
        (a cheap test before reading its place)."""
        clues = set(_spellings(self.building)) if self.building is not None else set()
        marks = {name for _, name in self.landmarks}
        clues.update(spelling for spelling, (name, _) in names.items() if name in marks)
        return tuple(clues)

    def contradicts(self, other: Place) -> bool:
        """Both name a building or landmark and it is not the same (3号楼 / 5号楼, 菜市场 /
        卫生院); addresses alone, free text, don't contradict coordinates."""
        named = self.building is not None or bool(self.landmarks)
        other_named = other.building is not None or bool(other.landmarks)
        return named and other_named and not self.same_as(other)


@dataclass(frozen=True)
class Gazetteer:
    """A center's place names: communities (also without 社区) and landmarks (with aliases)."""

    names: Mapping[str, tuple[str, bool]]  # spelling → (canonical, is a community)
    pattern: re.Pattern[str]

    @classmethod
    def of(
        cls, communities: Iterable[str] = (), landmarks: Iterable[str | Sequence[str]] = ()
    ) -> Gazetteer:
        names: dict[str, tuple[str, bool]] = {}
        for name in communities:
            canonical = normalise_address(name)
            names[canonical] = (canonical, True)
            stem = re.sub(r"(?:社区|小区)$", "", canonical)
            if len(stem) >= 2:
                names.setdefault(stem, (canonical, True))
        for entry in landmarks:
            spellings = [entry] if isinstance(entry, str) else list(entry)
            canonical = normalise_address(spellings[0])
            for spelling in spellings:
                names.setdefault(normalise_address(spelling), (canonical, False))
        alternatives = "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
        # a name followed by 镇/乡 is a town's (雁鸣湖镇), not the landmark's (雁鸣湖)
        named = f"|(?P<name>{alternatives})(?![镇乡])" if names else ""
        return cls(names, re.compile(_BUILDING + named))

    def words(self) -> set[str]:
        return set(self.names)

    def place(self, text: str | None) -> Place:
        """Where a text says: the first building, the community named before it (or at
        all), the landmarks, each owned by the place named right before it."""
        if not text:
            return Place()
        text = unicodedata.normalize("NFKC", text)
        community: str | None = None
        building: int | None = None
        landmarks: set[Landmark] = set()
        previous, previous_end = None, -2
        for found in self.pattern.finditer(text):
            if found.lastgroup == "building":
                building = _cn_to_int(found.group("building")) if building is None else building
                continue
            canonical, is_community = self.names[found.group(0)]
            if is_community:
                community = community if building is not None and community else canonical
            else:
                owner = previous if found.start() - previous_end <= 1 else None
                landmarks.add((owner, canonical))
            previous, previous_end = canonical, found.end()
        if community is None and (start := _COMMUNITY_AT_START.match(text)):
            community = start.group(1)
        return Place(community, building, frozenset(landmarks))

    def address(self, text: str | None) -> Place:
        """The place of an address field, which is also compared as a whole."""
        normalised = normalise_address(text)
        place = self.place(normalised)
        if not normalised or self.names.get(normalised, ("", False))[1]:
            return place  # empty, or just a community
        return Place(place.community, place.building, place.landmarks, normalised)

    def strip(self, text: str) -> str:
        """A normalised text without place names and numbered references (3号楼, 101室)."""
        return _PLACE_REFERENCE.sub(" ", self.pattern.sub(" ", text))
