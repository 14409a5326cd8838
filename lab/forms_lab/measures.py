"""Measures the benchmarks share: edit distance and an upper bound of an error rate."""

from __future__ import annotations

import math


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two strings (insertions, deletions, substitutions)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def upper_bound(wrong: int, n: int, z: float = 1.96) -> float:
    """Wilson score upper bound of an error rate (95 %); with no error, 1 - 0.05 ** (1 / n) (about 3 / n)."""
    if n == 0:
        return 1.0
    if wrong == 0:
        return 1.0 - 0.05 ** (1.0 / n)
    p = wrong / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre + spread) / (1 + z * z / n)


def percentile(values: list[float], p: float) -> float:
    """The ``p`` quantile of ``values`` (nearest rank), as the timing benchmarks report it."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]
