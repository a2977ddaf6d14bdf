"""Exact-quota allocation: the arithmetic that makes calibrated figures hold for any seed.

Randomness decides *who* has a property; these helpers decide *how many*,
exactly. All are vectorised and deterministic given their inputs.
"""

from __future__ import annotations

import numpy as np

ERR_CAPACITY = "cannot place {total} people: the groups hold at most {capacity}"


def largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    """Split ``total`` into integers proportional to ``weights`` (Hamilton's method).

    Ties in the remainders go to the earlier group, so the result is
    deterministic.

    >>> largest_remainder(np.array([1.0, 1.0, 1.0]), 10).tolist()
    [4, 3, 3]
    """
    w = np.asarray(weights, dtype=float)
    out = np.zeros(len(w), dtype=np.int64)
    if total <= 0 or len(w) == 0:
        return out
    if w.sum() <= 0:
        w = np.ones(len(w))
    exact = w / w.sum() * total
    out = np.floor(exact).astype(np.int64)
    short = int(total - out.sum())
    if short > 0:
        order = np.lexsort((np.arange(len(w)), -(exact - out)))
        out[order[:short]] += 1
    return out


def capped_largest_remainder(weights: np.ndarray, total: int, caps: np.ndarray) -> np.ndarray:
    """Like :func:`largest_remainder`, but no group gets more than its cap.

    Groups at their cap are frozen and the rest is shared again among the
    others, in proportion to their weights (or their spare room when their
    weights are all zero).
    """
    caps = np.asarray(caps, dtype=np.int64)
    if total > caps.sum():
        raise ValueError(ERR_CAPACITY.format(total=total, capacity=int(caps.sum())))
    w = np.where(caps > 0, np.asarray(weights, dtype=float), 0.0)
    out = np.zeros(len(caps), dtype=np.int64)
    free = caps > 0
    remaining = int(total)
    while remaining > 0:
        ww = np.where(free, w, 0.0)
        if ww.sum() <= 0:
            ww = np.where(free, (caps - out).astype(float), 0.0)
        add = largest_remainder(ww, remaining)
        over = out + add > caps
        if not over.any():
            out += add
            break
        out[over] = caps[over]
        free &= ~over
        remaining = int(total - out.sum())
    return out


def exact_categories(rng: np.random.Generator, n: int, shares: np.ndarray) -> np.ndarray:
    """Codes ``0..len(shares)-1`` for ``n`` items, with exactly the largest-remainder counts, shuffled."""
    counts = largest_remainder(np.asarray(shares, dtype=float), n)
    return rng.permutation(np.repeat(np.arange(len(counts)), counts))


def gumbel_keys(rng: np.random.Generator, log_weights: np.ndarray) -> np.ndarray:
    """Keys whose top ``k`` is a weighted sample of ``k`` without replacement (Gumbel-top-k)."""
    return np.asarray(log_weights, dtype=float) + rng.gumbel(size=len(log_weights))


def top_k_by_group(keys: np.ndarray, groups: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Mask selecting, within each group ``g``, the ``k[g]`` items with the largest keys.

    Groups are small non-negative integers; ``k`` is indexed by group.

    >>> top_k_by_group(np.array([5., 1., 3., 2.]), np.array([0, 0, 1, 1]), np.array([1, 2])).tolist()
    [True, False, True, True]
    """
    keys = np.asarray(keys, dtype=float)
    k = np.asarray(k, dtype=np.int64)
    n = len(keys)
    mask = np.zeros(n, dtype=bool)
    if n == 0:
        return mask
    if len(k) == 1:
        take = int(min(max(k[0], 0), n))
        if take:
            mask[np.argpartition(-keys, take - 1)[:take]] = True
        return mask
    by_key = np.argsort(-keys)  # ties (e.g. -inf) in a fixed, input-determined order
    g = np.asarray(groups).astype(np.int16 if len(k) < 32767 else np.int64)
    order = by_key[np.argsort(g[by_key], kind="stable")]
    g_sorted = g[order]
    rank = np.arange(n) - np.searchsorted(g_sorted, g_sorted, side="left")
    mask[order] = rank < k[g_sorted]
    return mask


def ipf(seed: np.ndarray, rows: np.ndarray, cols: np.ndarray, iterations: int = 200) -> np.ndarray:
    """Iterative proportional fitting of a positive table to row and column totals."""
    table = np.asarray(seed, dtype=float).copy()
    rows = np.asarray(rows, dtype=float)
    cols = np.asarray(cols, dtype=float)
    for _ in range(iterations):
        rs = table.sum(axis=1)
        table *= np.divide(rows, rs, out=np.zeros_like(rows), where=rs > 0)[:, None]
        cs = table.sum(axis=0)
        table *= np.divide(cols, cs, out=np.zeros_like(cols), where=cs > 0)[None, :]
        if np.abs(table.sum(axis=1) - rows).max() < 1e-9:
            break
    return table


def round_table(table: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Round a table to integers whose row and column totals are exactly ``rows`` and ``cols``.

    Floors every cell, then hands out the missing units one at a time to the
    cell with the largest fractional part among those whose row and column
    still lack units (a transportation problem that always has a solution
    because both margins lack the same total).
    """
    table = np.maximum(np.asarray(table, dtype=float), 0.0)
    out = np.floor(table + 1e-9).astype(np.int64)
    row_need = np.asarray(rows, dtype=np.int64) - out.sum(axis=1)
    col_need = np.asarray(cols, dtype=np.int64) - out.sum(axis=0)
    # a margin over-filled by rounding noise gives back from its smallest fractions
    for axis, need in ((1, row_need), (0, col_need)):
        for i in np.flatnonzero(need < 0):
            line = out[i] if axis == 1 else out[:, i]
            for j in np.argsort(table[i] - out[i] if axis == 1 else table[:, i] - out[:, i]):
                while need[i] < 0 and line[j] > 0:
                    line[j] -= 1
                    need[i] += 1
                    other = col_need if axis == 1 else row_need
                    other[j] += 1
    frac = table - out
    while row_need.sum() > 0:
        open_cells = (row_need[:, None] > 0) & (col_need[None, :] > 0)
        score = np.where(open_cells, frac, -np.inf)
        i, j = np.unravel_index(int(np.argmax(score)), score.shape)
        out[i, j] += 1
        frac[i, j] -= 1.0
        row_need[i] -= 1
        col_need[j] -= 1
    return out
