"""Benchmark: category suggestion and repeat detection at intake (issue 14), on the labelled
reports of bench/data/reports.jsonl (hand-written for the demo center's three communities).

    .venv/bin/python bench/suggestions.py

Prints quality and cost; asserts nothing.

* Split: fixed and seeded, by repeat group (a group's reports are all on one side, so no
  rewording of a held-out report is learnt), ~70 % of each category's reports as the
  center's handled tickets the model learns from, the rest held out.
* Category: top-1 / top-3 accuracy of ``CategoryModel.suggest`` on the held-out reports,
  also with fewer handled tickets, and with none (keywords, names, descriptions only).
* Repeats: the held-out reports arrive in the file's order and nothing is closed
  meanwhile, so when one arrives every earlier held-out report is an open ticket (a
  candidate). A pair (arrival, earlier report) is a true repeat when both share a
  ``group``; a found pair is one ``find_repeats`` returns. Precision = true found pairs /
  found pairs, recall = true found pairs / true pairs. The defaults (radius, min
  similarity, weights) were set on the learning split's reports only, with each report
  analysed by a model that had not learnt it. Also printed: the same with every learnt
  report open as well (more distractors, and ones the model has learnt, which a real open
  ticket never is), and the trade-off at other min similarities.
* Cost, one process, one core: building the model from 3 000 handled tickets (the
  learning split's descriptions repeated: they cost the same to segment), one suggestion
  of a text the model has not seen, and one repeat search against 500 open tickets (all
  reports, plus copies moved to a fourth community 2 km away), cold (every candidate near
  enough to compare is segmented) and warm (the model remembers the open tickets).
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lianxin.seed import CATEGORIES  # noqa: E402
from services.tickets import suggest  # noqa: E402

Report = dict[str, Any]

DATA = ROOT / "bench" / "data" / "reports.jsonl"
SEED = 14
HELD_OUT = 0.3
#: The demo center's place names (lianxin/seed.py, ../shared/seed): its communities, and
#: landmarks residents name (distinctive ones: 大门 is owned by what is named before it).
COMMUNITIES = ("东村社区", "太平庄社区", "东漳社区")
LANDMARKS = ("党群服务中心", "文化广场", "菜市场", "卫生院", ("中心小学", "小学"), "幼儿园",
             "健身广场", ("北门", "北大门"), "南门", "大门", "雁鸣路", "雁鸣湖")  # fmt: skip


def load() -> list[Report]:
    with DATA.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def split(reports: list[Report]) -> tuple[list[Report], list[Report]]:
    """(learnt, held out): whole groups, ~HELD_OUT of each category's reports held out."""
    groups: dict[str, list[Report]] = defaultdict(list)
    for report in reports:
        groups[report["group"]].append(report)
    by_category: dict[str, list[str]] = defaultdict(list)
    for group, members in sorted(groups.items()):
        by_category[members[0]["category"]].append(group)
    rng = random.Random(SEED)
    held: set[str] = set()
    for category in sorted(by_category):
        names = by_category[category]
        rng.shuffle(names)
        total, taken = sum(len(groups[g]) for g in names), 0
        for group in names:
            if taken >= HELD_OUT * total:
                break
            held.add(group)
            taken += len(groups[group])
    return ([r for r in reports if r["group"] not in held],
            [r for r in reports if r["group"] in held])  # fmt: skip


def categories() -> list[suggest.CategoryInfo]:
    return [
        suggest.CategoryInfo(
            c["code"], c["name"], tuple(c.get("keywords", ())), c.get("description", "")
        )  # fmt: skip
        for c in CATEGORIES
    ]


def build(learnt: list[Report], memo_size: int = 4096) -> suggest.CategoryModel:
    return suggest.CategoryModel.build(
        categories(), [(r["text"], r["category"]) for r in learnt],
        communities=COMMUNITIES, landmarks=LANDMARKS, memo_size=memo_size)  # fmt: skip


def open_ticket(report: Report) -> suggest.OpenTicket:
    return suggest.OpenTicket(report["id"], report["text"], report["text"][:60], "reported",
                              report["address"], report["lat"], report["long"])  # fmt: skip


def category_accuracy(model: suggest.CategoryModel, reports: list[Report]) -> tuple[float, float]:
    top1 = top3 = 0
    for report in reports:
        codes = [s.code for s in model.suggest(report["text"], limit=3)]
        top1 += codes[0] == report["category"]
        top3 += report["category"] in codes
    return top1 / len(reports), top3 / len(reports)


def repeat_pairs(
    model: suggest.CategoryModel, arrivals: list[Report], open_too: list[Report], **options: Any
) -> list[tuple[float, bool]]:
    """(score, true repeat) of every pair found with min similarity 0, and in [0] the
    number of true pairs: each arrival against the earlier arrivals and ``open_too``."""
    scored: list[tuple[float, bool]] = []
    true = 0
    for index, report in enumerate(arrivals):
        earlier = arrivals[:index] + open_too
        true += sum(other["group"] == report["group"] for other in earlier)
        groups = {other["id"]: other["group"] for other in earlier}
        for found in suggest.find_repeats(
            report["text"], address=report["address"], lat=report["lat"], long=report["long"],
            candidates=[open_ticket(r) for r in earlier], model=model, min_similarity=0.0,
            **options,
        ):  # fmt: skip
            scored.append((found.similarity, groups[found.ticket_id] == report["group"]))
    return [(float(true), True), *scored]


def precision_recall(scored: list[tuple[float, bool]], threshold: float) -> tuple[int, int, int]:
    """(true pairs, found pairs, true found pairs) at a min similarity."""
    (true, _), pairs = scored[0], scored[1:]
    found = [same for score, same in pairs if score >= threshold]
    return int(true), len(found), sum(found)


def moved(report: Report, n: int) -> suggest.OpenTicket:
    """A copy of a report in a fourth community ~2 km north (a distractor for the timing)."""
    lat = report["lat"] + 0.018 if report["lat"] is not None else None
    address = report["address"] and report["address"].replace("社区", "新区")
    return suggest.OpenTicket(f"copy-{n}", report["text"], report["text"][:60], "assigned",
                              address, lat, report["long"])  # fmt: skip


def timed(calls: list[Callable[[], object]]) -> str:
    samples = []
    for call in calls:
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return f"p50 {q[49] * 1e6:7.1f} µs   p99 {q[98] * 1e6:7.1f} µs   ({len(samples)} runs)"


def print_categories(learnt: list[Report], held: list[Report]) -> suggest.CategoryModel:
    print("\ncategory suggestion, on the held-out reports")
    rng = random.Random(SEED)
    for share in (0.0, 0.25, 0.5, 1.0):
        subset = rng.sample(learnt, int(share * len(learnt)))
        top1, top3 = category_accuracy(build(subset), held)
        label = f"{len(subset)} handled tickets" + (" (keywords only)" if not subset else "")
        print(f"  {label:<34} top-1 {top1:.3f}   top-3 {top3:.3f}")
    return build(learnt)


def print_repeats(model: suggest.CategoryModel, learnt: list[Report], held: list[Report]) -> None:
    default = suggest.DEFAULT_MIN_SIMILARITY
    print(f"\nrepeats (radius {suggest.DEFAULT_RADIUS_M:.0f} m, min similarity {default}): the "
          "held-out reports arrive in order; earlier ones are open tickets")  # fmt: skip
    within = repeat_pairs(model, held, [])
    with_learnt = repeat_pairs(model, held, learnt)
    for label, scored in (("open: earlier held-out reports", within),
                          ("open: those and every learnt report", with_learnt)):  # fmt: skip
        true, found, hits = precision_recall(scored, default)
        print(
            f"  {label:<38} true pairs {true:3d}  found {found:3d}  true found {hits:3d}"
            f"   precision {hits / found if found else float('nan'):.3f}"
            f"   recall {hits / true:.3f}"
        )
    print("  other min similarities (open: earlier held-out reports):")
    for threshold in (0.30, 0.33, 0.40, 0.45, 0.50):
        true, found, hits = precision_recall(within, threshold)
        print(
            f"    {threshold:.2f}: precision {hits / found if found else float('nan'):.3f}"
            f"   recall {hits / true:.3f}"
        )


def print_costs(learnt: list[Report], held: list[Report], reports: list[Report]) -> None:
    print("\ncost (one process, one core)")
    examples = [(learnt[i % len(learnt)]["text"], learnt[i % len(learnt)]["category"])
                for i in range(3000)]  # fmt: skip
    builds = []
    for _ in range(5):
        started = time.perf_counter()
        suggest.CategoryModel.build(categories(), examples, communities=COMMUNITIES,
                                    landmarks=LANDMARKS)  # fmt: skip
        builds.append(time.perf_counter() - started)
    print(f"  build from {len(examples)} handled tickets: median {statistics.median(builds):.3f} s")
    cold = build(learnt, memo_size=0)
    texts = [r["text"] for r in held] * 10
    suggestions = [lambda t=t: cold.suggest(t) for t in texts]
    print(f"  one suggestion (unseen text)                 {timed(suggestions)}")
    candidates = [open_ticket(r) for r in reports] + [moved(r, n) for n, r in enumerate(reports)]
    candidates = candidates[:500]

    def search(model: suggest.CategoryModel, r: Report) -> Callable[[], object]:
        return lambda: suggest.find_repeats(
            r["text"], address=r["address"], lat=r["lat"], long=r["long"],
            candidates=candidates, model=model, exclude_id=r["id"])  # fmt: skip

    print(f"  one repeat search, {len(candidates)} open tickets, cold    "
          f"{timed([search(cold, r) for r in held * 2])}")  # fmt: skip
    warm = build(learnt)
    for r in held:
        search(warm, r)()
    print(f"  one repeat search, {len(candidates)} open tickets, warm    "
          f"{timed([search(warm, r) for r in held * 5])}")  # fmt: skip


def main() -> None:
    reports = load()
    learnt, held = split(reports)
    groups: dict[str, int] = defaultdict(int)
    for report in reports:
        groups[report["group"]] += 1
    sizes = sorted(n for n in groups.values() if n > 1)
    print(
        f"reports: {len(reports)}, {len(sizes)} repeat groups of {sizes[0]}-{sizes[-1]}; split "
        f"by group (seed {SEED}): {len(learnt)} learnt as handled tickets, {len(held)} held out"
    )
    started = time.perf_counter()
    suggest.CategoryModel.build(categories())
    print(f"jieba dictionary load, once per process: {time.perf_counter() - started:.2f} s")
    model = print_categories(learnt, held)
    print_repeats(model, learnt, held)
    print_costs(learnt, held, reports)


if __name__ == "__main__":
    main()
