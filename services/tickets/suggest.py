"""Suggestions at intake (issue 14): the likely category of a report, and the open tickets it
probably repeats (已有人反映), so the resident can support one instead of opening another.

Pure domain logic: no database, no nameko. The caller loads what it needs (a center's
categories and handled tickets for :meth:`CategoryModel.build`, its open tickets for
:func:`find_repeats`) and keeps one model per center (see :class:`CategoryModel`).

What a report is about is read from its **features**: jieba's words in search mode without
HMM (``cut_for_search(..., HMM=False)``: dictionary words and their shorter dictionary
sub-words, unknown runs as single characters; deterministic), without function words, and
the text's characters (``#灯``), which still match when residents misspell or paraphrase
(路登/路灯, 电悌/电梯, 楼道灯/声控灯/楼梯灯). Place names and numbered references (东村社区,
3号楼, 2单元, 101室) are taken out first: they say where, not what.

* Category: multinomial naive Bayes over a report's distinct features. Each category
  starts from its keywords (as several documents' worth), name and description, and
  learns from the center's handled tickets; scores are the model's probabilities.
* Repeats: an open ticket is a candidate when it is near (coordinates within a radius, or
  the same building, landmark or address, from the address field or the description) and
  doesn't name another place; its match score weighs the features both reports share
  (by their rarity among the center's tickets), how much both fall in the same category,
  and whether both name the same place.

jieba runs on **one jieba.Tokenizer shared by the process**, created lazily and quietly on
first use (:func:`_tokenizer`), distinct from jieba's own global one, because:

* a Tokenizer holds the ~350 000-word dictionary (~1 s to load, tens of MB): one per
  center's model would blow the model's build budget and multiply memory per center;
* what a model adds to it (its categories' keywords, its communities and landmarks) is
  domain vocabulary right for every center, and adding a word is idempotent, so sharing
  it changes nothing a center would notice: search mode still yields a new long word's
  dictionary sub-words, and the features include characters, so a model built before
  another center's words arrived scores texts segmented afterwards alike.

The only other process-wide effect is jieba's logger, set to WARNING (jieba logs its
dictionary loading to stderr at DEBUG).
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jieba

from services.tickets.places import (
    PUNCTUATION,
    Gazetteer,
    Place,
    haversine_m,
    normalise_text,
)

__all__ = [
    "DEFAULT_MIN_SIMILARITY",
    "DEFAULT_RADIUS_M",
    "CategoryInfo",
    "CategoryModel",
    "CategorySuggestion",
    "OpenTicket",
    "RepeatCandidate",
    "find_repeats",
]

#: Repeat search defaults: how near (m), and the least match score (0..1, see
#: :func:`_match_score`), set on the benchmark's learning split (bench/suggestions.py).
DEFAULT_RADIUS_M = 100.0
DEFAULT_MIN_SIMILARITY = 0.37

# Category model: a category's keywords count as this many documents' worth, its name and
# description as one; additive smoothing of the likelihoods (set by cross-validation on
# the benchmark's learning split).
_KEYWORD_WEIGHT = 6.0
_NAME_WEIGHT = 1.0
_SMOOTHING = 0.3

# Repeat match score: weights of the shared features (over the geometric mean of both
# reports' feature weight), of the category overlap and of naming the same place; a
# feature's weight is its rarity among the handled tickets (IDF) to a power.
_W_WORDS, _W_TOPIC, _W_PLACE = 0.7, 0.1, 0.2
_RARITY_POWER = 1.5

#: How many analysed texts (and places) a model remembers: a center's open tickets,
#: searched again at every intake, are segmented once.
_MEMO_SIZE = 4096

_M_PER_DEG_LAT = 111_195.0

_CJK = re.compile(r"[\u4e00-\u9fff]")

#: What carries no problem: function words, pronouns, filler, intake politeness.
_STOPWORDS = frozenset(
    """的 了 是 在 也 都 就 还 和 与 及 跟 有 没 很 太 啊 吧 呢 吗 呀 哦 嘛 啦 把 被 给 让 从 到 往 向
    对 又 再 才 已 已经 我 俺 咱 我们 俺们 咱们 你 您 他 她 它 他们 她们 人 家 这 那 这个 那个 这里
    那里 这边 那边 一个 一下 一些 什么 啥 咋 怎么 能 能不能 可以 要 想 请 麻烦 希望 反映 反应
    问题 情况 社区 小区 楼 号 号楼 单元 层 室 门口 门前 附近 旁边 边上 对面 跟前 前面 后面 后头
    楼下 外面 里面 现在 今天 昨天 最近 一直 好几 几天 好几天 个 些 得 地 着 过 说 上 下 里 中 来
    去 看 一 不 么 就是 还是 但是 而且 因为 所以 如果 或者 谁 哪 哪里 多 少 点 一点 帮 帮忙 社工
    物业 居民 住户 业主""".split()
)
#: Characters that don't tell one problem from another (where, how much): the category
#: reads them, repeats don't.
_PLAIN_CHARACTERS = frozenset("前后左右门口边旁里外内面头东西南北楼层号单元室区社点个些") | {
    w for w in _STOPWORDS if len(w) == 1
}


_JIEBA_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    """The process's jieba.Tokenizer, loaded on first use (see the module's docstring)."""
    logging.getLogger("jieba").setLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    with _JIEBA_LOCK:
        tokenizer.initialize()
    return tokenizer


def _add_words(words: Iterable[str]) -> None:
    """Have jieba keep these words whole (idempotent; nothing for dictionary words)."""
    tokenizer = _tokenizer()
    with _JIEBA_LOCK:
        for word in words:
            if len(word) > 1 and not tokenizer.FREQ.get(word):
                tokenizer.suggest_freq(word, tune=True)


def _features(problem: str) -> frozenset[str]:
    """jieba's words of a text (without stopwords and punctuation), and its characters
    (marked ``#``: 灯 the word and #灯 the character are two features)."""
    words = {w for w in _tokenizer().lcut_for_search(problem, HMM=False)
             if w not in _STOPWORDS and not PUNCTUATION.fullmatch(w)}  # fmt: skip
    return frozenset(words).union("#" + ch for ch in _CJK.findall(problem))


# ---------------------------------------------------------------------------- categories


@dataclass(frozen=True)
class CategoryInfo:
    code: str
    name: str
    keywords: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class CategorySuggestion:
    code: str
    name: str
    score: float  # 0..1: the model's probability of the category


@dataclass(frozen=True)
class _Analysis:
    features: frozenset[str]  # what the category is read from
    posterior: tuple[float, ...]  # per category, sums to 1
    problem: Mapping[str, float]  # the features repeats compare, with their weights
    weight: float  # their sum


class CategoryModel:
    """A center's model of its reports: categories, place names and feature weights.

    Build it when first needed and keep it per center: it is read-only once built (safe to
    share between green threads and threads) apart from a bounded memo of the texts it has
    analysed, so that the center's open tickets, compared at every intake, are segmented
    once. Rebuild it when the center's categories or places change, and as handled tickets
    accumulate (nightly, or every few hundred).
    """

    def __init__(
        self,
        categories: Sequence[CategoryInfo],
        gazetteer: Gazetteer,
        loglik: Mapping[str, tuple[float, ...]],
        prior: tuple[float, ...],
        weights: Mapping[str, float],
        unseen_weight: float,
        memo_size: int = _MEMO_SIZE,
    ) -> None:
        self.categories = tuple(categories)
        self._gazetteer = gazetteer
        self._loglik = loglik
        self._prior = prior
        self._weights = weights
        self._unseen_weight = unseen_weight
        self.analyse: Callable[[str], _Analysis] = lru_cache(maxsize=memo_size)(self._analyse)
        self.place: Callable[[str | None, str | None], Place] = lru_cache(maxsize=memo_size)(
            self._place
        )

    @classmethod
    def build(
        cls,
        categories: Iterable[CategoryInfo],
        examples: Iterable[tuple[str, str]] = (),
        *,
        communities: Iterable[str] = (),
        landmarks: Iterable[str | Sequence[str]] = (),
        memo_size: int = _MEMO_SIZE,
    ) -> CategoryModel:
        """``examples``: (description, category code) of the center's handled tickets (other
        codes are skipped); ``communities`` (``东村社区``) and ``landmarks`` (``菜市场``, or a
        name with its aliases: ``("北门", "北大门")``; distinctive names, not 停车场): the
        center's place names, which tell where a report is and are left out of what it is
        about; ``memo_size``: how many analysed texts to remember (0: none)."""
        cats = tuple(categories)
        if not cats:
            raise ValueError("a category model needs at least one category")
        gazetteer = Gazetteer.of(communities, landmarks)
        _add_words({*gazetteer.words(), *(k for c in cats for k in c.keywords)})
        index = {c.code: i for i, c in enumerate(cats)}
        counts: list[Counter[str]] = [Counter() for _ in cats]
        documents = [_KEYWORD_WEIGHT] * len(cats)
        for i, c in enumerate(cats):
            seed = cls._read(" ".join(c.keywords), gazetteer)
            named = cls._read(f"{c.name} {c.description}", gazetteer)
            counts[i].update({f: _KEYWORD_WEIGHT for f in seed})
            counts[i].update({f: _NAME_WEIGHT for f in named - seed})
        frequency: Counter[str] = Counter()  # in how many handled tickets a feature occurs
        learnt = 0
        for text, code in examples:
            if code in index:
                features = cls._read(text, gazetteer)
                counts[index[code]].update(features)
                documents[index[code]] += 1
                frequency.update(features)
                learnt += 1
        total = sum(documents)
        prior = tuple(math.log((d + 1) / (total + len(cats))) for d in documents)

        def rarity(count: int) -> float:
            return (math.log((learnt + 1) / (count + 1)) + 1) ** _RARITY_POWER

        weights = {f: rarity(n) for f, n in frequency.items()}
        return cls(cats, gazetteer, _likelihoods(counts), prior, weights, rarity(0), memo_size)

    @staticmethod
    def _read(text: str, gazetteer: Gazetteer) -> frozenset[str]:
        return _features(gazetteer.strip(normalise_text(text)))

    def suggest(self, text: str, limit: int = 3) -> list[CategorySuggestion]:
        """The ``limit`` likeliest categories of a description, best first."""
        posterior = self.analyse(text).posterior
        order = sorted(range(len(posterior)), key=lambda i: -posterior[i])[: max(0, limit)]
        return [
            CategorySuggestion(self.categories[i].code, self.categories[i].name, posterior[i])
            for i in order
        ]

    def _analyse(self, text: str) -> _Analysis:
        features = self._read(text, self._gazetteer)
        scores = list(self._prior)
        for feature in features:
            row = self._loglik.get(feature)
            if row is not None:
                scores = [s + r for s, r in zip(scores, row, strict=True)]
        top = max(scores)
        exp = [math.exp(s - top) for s in scores]
        norm = sum(exp)
        problem = {
            f: self._weights.get(f, self._unseen_weight)
            for f in features
            if f[0] != "#" or f[1] not in _PLAIN_CHARACTERS
        }
        return _Analysis(features, tuple(e / norm for e in exp), problem, sum(problem.values()))

    @property
    def place_names(self) -> Mapping[str, tuple[str, bool]]:
        """Spelling → (canonical name, is a community) of the center's place names."""
        return self._gazetteer.names

    def _place(self, address: str | None, description: str | None) -> Place:
        return self._gazetteer.address(address).merged(self._gazetteer.place(description))


def _likelihoods(counts: Sequence[Counter[str]]) -> dict[str, tuple[float, ...]]:
    """log P(feature | category) for every feature seen, with additive smoothing."""
    vocabulary = set().union(*counts)
    denominators = [sum(c.values()) + _SMOOTHING * len(vocabulary) for c in counts]
    return {
        f: tuple(math.log((c[f] + _SMOOTHING) / d) for c, d in zip(counts, denominators, strict=True))
        for f in vocabulary
    }  # fmt: skip


# ---------------------------------------------------------------------------- repeats


@dataclass(frozen=True)
class OpenTicket:
    ticket_id: str
    description: str
    summary: str
    state: str
    address: str | None = None
    lat: float | None = None
    long: float | None = None


@dataclass(frozen=True)
class RepeatCandidate:
    ticket_id: str
    summary: str
    state: str
    distance_m: float | None  # None: one of them has no coordinates (matched on the place)
    similarity: float  # 0..1: the match score


@dataclass(frozen=True)
class _Here:
    """Where a new report is: its place, the clues to it, its coordinates."""

    place: Place
    clues: tuple[str, ...]
    point: tuple[float, float] | None

    def near(
        self, ticket: OpenTicket, model: CategoryModel, radius_m: float
    ) -> tuple[bool, float | None, bool]:
        """(near, the distance when both have coordinates, both name the same place)."""
        if self.point is not None and ticket.lat is not None and ticket.long is not None:
            lat, long = self.point
            if abs(ticket.lat - lat) * _M_PER_DEG_LAT > radius_m:
                return False, None, False
            distance = haversine_m(lat, long, ticket.lat, ticket.long)
            if distance > radius_m:
                return False, distance, False
            other = model.place(ticket.address, ticket.description)
            return not self.place.contradicts(other), distance, self.place.same_as(other)
        if not self.place or not self.may_name(ticket):
            return False, None, False
        same = self.place.same_as(model.place(ticket.address, ticket.description))
        return same, None, same

    def may_name(self, ticket: OpenTicket) -> bool:
        if self.place.address and ticket.address:
            return True
        texts = (ticket.description, ticket.address or "")
        return any(clue in text for clue in self.clues for text in texts)


def _match_score(a: _Analysis, b: _Analysis, same_place: bool) -> float:
    """0..1: the weight of the features both reports share over the geometric mean of their
    own (what one says and the other doesn't counts against), how much the model puts both
    in the same category, and whether both name the same place."""
    shared = sum(w for f, w in a.problem.items() if f in b.problem)
    norm = math.sqrt(a.weight * b.weight)
    words = shared / norm if norm else 0.0
    topic = sum(min(p, q) for p, q in zip(a.posterior, b.posterior, strict=True))
    return _W_WORDS * words + _W_TOPIC * topic + _W_PLACE * same_place


def find_repeats(
    text: str,
    *,
    address: str | None,
    lat: float | None,
    long: float | None,
    candidates: Iterable[OpenTicket],
    radius_m: float = DEFAULT_RADIUS_M,
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
    model: CategoryModel | None = None,
    exclude_id: str | None = None,
) -> list[RepeatCandidate]:
    """The open tickets a new report probably repeats, best match first.

    A candidate is near when both have coordinates within ``radius_m`` and don't name
    different places (3号楼 / 5号楼, 菜市场 / 卫生院), or, when one lacks them, when both name
    the same address, building or landmark, in the address or the description itself
    (东村社区3号楼门口垃圾没人清运); it is a repeat when it is near and its match score
    (:func:`_match_score`) is at least ``min_similarity``. ``model``: the center's
    :class:`CategoryModel` (its place names, feature weights and categories, and its memo of
    analysed tickets); without one, only buildings and addresses are recognised, every
    feature weighs alike and each call analyses every candidate it compares.
    ``exclude_id``: a ticket not to return (the one whose repeats staff are looking at).
    """
    model = model or CategoryModel.build([CategoryInfo("any", "any")])
    place = model.place(address, text)
    point = (lat, long) if lat is not None and long is not None else None
    if point is None and not place:
        return []  # nowhere to compare with
    here = _Here(place, place.clues(model.place_names), point)
    analysis = model.analyse(text)
    found = []
    for ticket in candidates:
        if ticket.ticket_id == exclude_id:
            continue
        near, distance, same_place = here.near(ticket, model, radius_m)
        if not near:
            continue
        score = _match_score(analysis, model.analyse(ticket.description), same_place)
        if score >= min_similarity:
            found.append(RepeatCandidate(ticket.ticket_id, ticket.summary, ticket.state,
                                         distance, round(min(1.0, score), 4)))  # fmt: skip
    found.sort(key=lambda c: (-c.similarity, math.inf if c.distance_m is None else c.distance_m))
    return found
