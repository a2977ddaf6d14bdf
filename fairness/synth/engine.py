"""The quarterly simulation behind :func:`fairness.synth.generate`.

One pool of people (everyone ever listed) and one loop over quarters. Each
quarter: people age; the list's composition by ethnic group (Black, White,
rest) x age class (under 18, 18-24, 25+) is fitted exactly to the plan by
choosing how many to remove and add in each of the nine cells; removals
favour long tenure and (in some periods) Green people; additions are partly
people listed before (re-listing) and partly new people; reviews are done or
missed; harm scores, bands and sharing follow, with exact quotas for the
calibrated zero-harm share. Everything inside a quarter is vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fairness.definitions import ETHNICITIES, SEXES
from fairness.synth.boroughs import Boroughs, build_boroughs, zero_harm_quota
from fairness.synth.dates import birth_for_age, uniform_days, years_after, ymd
from fairness.synth.place import Place
from fairness.synth.quota import (
    capped_largest_remainder,
    exact_categories,
    gumbel_keys,
    ipf,
    round_table,
    top_k_by_group,
)
from fairness.synth.scenario import Plan

#: Quarters of offending history simulated before the first snapshot (two
#: years, so ``violent_offences_2y`` is defined from the start).
HISTORY = 8
#: Routine reviews happen up to this many days before the quarter end, so a
#: missed review is always more than 92 days old at the next snapshot.
REVIEW_LEAD_DAYS = 30
#: How far back a review missed before the first snapshot can be.
EARLIEST_MISSED_REVIEW_DAYS = 182

BLACK, WHITE, REST = 0, 1, 2  # ethnic classes of the composition cells
UNDER_18, AGE_18_24, AGE_25_PLUS = 0, 1, 2  # age classes
_ETH_CODE = {g: i for i, g in enumerate(ETHNICITIES)}
GREEN, AMBER, RED = 2, 1, 0  # index into RISK_BANDS ("Red", "Amber", "Green")

ERR_INFEASIBLE_ADDITIONS = (
    "{path}: quarter {quarter}: reaching the composition targets needs at least {need} additions, "
    "but the calibrated total fixes {have}; smooth the share targets or change the additions totals{hint}"
)
HINT_SMALL_SCALE = (
    " (at scale {scale:g} every cell of the composition is rounded to whole people: a larger "
    "--scale, or another --seed, may reach the targets)"
)
ERR_INFEASIBLE_REMOVALS = (
    "{path}: quarter {quarter}: additions ({additions}) exceed the list size ({people}): raise "
    "people or lower additions"
)
ERR_INFEASIBLE_ZERO = (
    "{path}: quarter {quarter}: {need} people must score harm 0 but only {room} have no violent "
    "offence in the last 12 months; lower harm_zero_share or [offending] rates"
)


# --------------------------------------------------------------------------- state


class Pool:
    """Everyone ever listed: one slot per person, arrays grown in place."""

    def __init__(self, capacity: int, columns: int) -> None:
        self.n = 0
        z = np.zeros
        self.eth = z(capacity, np.int8)
        self.sex = z(capacity, np.int8)
        self.borough = z(capacity, np.int16)
        self.birth = z(capacity, np.int64)
        self.birth_year = z(capacity, np.int64)
        self.birth_monthday = z(capacity, np.int64)
        self.non_violent = z(capacity, bool)
        self.rate = z(capacity, float)
        self.serious = z(capacity, float)
        self.intel_shift = z(capacity, float)
        self.intel = z(capacity, float)
        self.share_latent = z(capacity, float)
        self.partners = z(capacity, np.int16)
        self.victim = z(capacity, bool)
        self.date_added = z(capacity, np.int64)
        self.last_reviewed = z(capacity, np.int64)
        self.listed = z(capacity, bool)
        self.last_quarter = np.full(capacity, -1, np.int32)
        self.zero_run = z(capacity, np.int32)
        self.was_zero = z(capacity, bool)
        self.was_green = z(capacity, bool)
        self.was_missed = z(capacity, bool)
        self.offences = z((capacity, columns), np.int8)

    def take(self, k: int) -> np.ndarray:
        """Slots for ``k`` new people."""
        if self.n + k > len(self.eth):
            self._grow(self.n + k)
        idx = np.arange(self.n, self.n + k)
        self.n += k
        return idx

    def _grow(self, need: int) -> None:
        size = max(need, int(len(self.eth) * 1.5))
        for name, arr in vars(self).items():
            if isinstance(arr, np.ndarray):
                fill = -1 if name == "last_quarter" else 0
                grown = np.full((size,) + arr.shape[1:], fill, dtype=arr.dtype)
                grown[: len(arr)] = arr
                setattr(self, name, grown)


@dataclass(frozen=True)
class Quarter:
    """What one snapshot holds, per record (arrays aligned with ``person``).

    :class:`fairness.synth.frame.Records` holds these fields for every quarter at once.
    """

    person: np.ndarray
    harm: np.ndarray
    band: np.ndarray
    violent_2y: np.ndarray
    date_added: np.ndarray
    last_reviewed: np.ndarray
    partners: np.ndarray
    zero_run: np.ndarray
    relisted: np.ndarray
    missed_review: np.ndarray


@dataclass
class Simulation:
    """Inputs, state and per-quarter results of one run."""

    raw: dict
    plan: Plan
    path: Path
    rng: np.random.Generator
    boroughs: Boroughs
    pool: Pool
    column_ends: np.ndarray
    quarters: list[Quarter] = field(default_factory=list)
    flows: list[dict] = field(default_factory=list)
    zero_harm_common: list[float] = field(default_factory=list)
    stock: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    end_year: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    end_monthday: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    #: additions per quarter as run: the plan's, except where a quarter of a calibrated
    #: block took some from a later quarter of it (:func:`_borrow_additions`)
    additions: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


def simulate(
    raw: dict, plan: Plan, rng: np.random.Generator, path: Path, place: Place | None = None
) -> Simulation:
    """Run every quarter of the plan and return the simulation (in the areas of ``place`` if given)."""
    boroughs = build_boroughs(raw, rng, place)
    nq = len(plan.quarters)
    capacity = int(plan.people[0] + plan.additions.sum() * 1.2 + 16)
    column_ends = np.concatenate([plan.ends[0] - 91 * np.arange(HISTORY, 0, -1), plan.ends])
    sim = Simulation(raw, plan, path, rng, boroughs, Pool(capacity, HISTORY + nq), column_ends)
    year, month, day = ymd(plan.ends)
    sim.end_year, sim.end_monthday = year, month * 100 + day
    sim.additions = plan.additions.copy()
    for t in range(nq):
        _run_quarter(sim, t)
    return sim


def _run_quarter(sim: Simulation, t: int) -> None:
    if t == 0:
        stock, relisted = _initial_stock(sim), np.zeros(sim.plan.people[0], bool)
    else:
        _advance_intelligence(sim)
        stock, relisted = _turnover(sim, t)
    sim.stock = stock
    missed = _review(sim, t, stock)
    harm, violent_2y = _harm(sim, t, stock)
    band = _band(sim, stock, harm)
    partners = _sharing(sim, t, stock, band)
    zero_run = _update_state(sim, t, stock, harm, band)
    sim.quarters.append(
        Quarter(
            person=stock,
            harm=harm,
            band=band,
            violent_2y=violent_2y,
            date_added=sim.pool.date_added[stock].copy(),
            last_reviewed=sim.pool.last_reviewed[stock].copy(),
            partners=partners,
            zero_run=zero_run,
            relisted=relisted,
            missed_review=missed,
        )
    )


# --------------------------------------------------------------------------- composition


def age_class(ages: np.ndarray) -> np.ndarray:
    """0: under 18, 1: 18-24, 2: 25 and over."""
    return (ages >= 18).astype(np.int64) + (ages >= 25).astype(np.int64)


def eth_class(eth: np.ndarray) -> np.ndarray:
    """0: Black, 1: White, 2: any other group or not stated."""
    out = np.full(len(eth), REST, np.int64)
    out[eth == _ETH_CODE["Black"]] = BLACK
    out[eth == _ETH_CODE["White"]] = WHITE
    return out


def ages_at(sim: Simulation, people: np.ndarray, quarters: np.ndarray | int) -> np.ndarray:
    """Age in completed years at the quarter end(s), from the stored birth year and month-day."""
    year, monthday = sim.end_year[quarters], sim.end_monthday[quarters]
    before = monthday < sim.pool.birth_monthday[people]
    return year - sim.pool.birth_year[people] - before.astype(np.int64)


def cells_of(sim: Simulation, people: np.ndarray, t: int) -> np.ndarray:
    """Composition cell (3 x ethnic class + age class) of each person at quarter ``t``."""
    return eth_class(sim.pool.eth[people]) * 3 + age_class(ages_at(sim, people, t))


def target_margins(plan: Plan, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact ethnic-class and age-class totals of the list at quarter ``t``."""
    n = plan.people[t]
    rows = np.array([plan.black[t], n - plan.not_white[t], plan.not_white[t] - plan.black[t]])
    cols = np.array([plan.under_18[t], plan.under_25[t] - plan.under_18[t], n - plan.under_25[t]])
    return rows, cols


def target_table(plan: Plan, t: int, current: np.ndarray) -> np.ndarray:
    """The 3 x 3 integer composition at ``t`` closest (IPF) to ``current`` with exact margins."""
    rows, cols = target_margins(plan, t)
    fitted = ipf(current.astype(float) + 0.5, rows, cols)
    return round_table(fitted, rows, cols)


# --------------------------------------------------------------------------- the first snapshot


def _initial_stock(sim: Simulation) -> np.ndarray:
    plan, raw = sim.plan, sim.raw
    initial = raw.get("initial", {})
    table = target_table(plan, 0, np.ones((3, 3)))
    cells = np.repeat(np.arange(9), table.ravel())
    people = _create(
        sim,
        0,
        cells,
        male_share=_share(initial.get("male_share"), 0.99),
        victim_share=_share(initial.get("victim_share"), 0.75),
        first=True,
    )
    target = int(round(_share(initial.get("no_violent_offence_share"), 0.4) * len(people)))
    _force_no_offence_count(sim, people, target)
    return people


def _share(item: object, default: float) -> float:
    if isinstance(item, dict):
        return float(item.get("share", default))
    return float(default) if item is None else float(item)


def _force_no_offence_count(sim: Simulation, people: np.ndarray, target: int) -> None:
    """Make exactly ``target`` of ``people`` free of violent offences in the two years to quarter 0."""
    rng, offences = sim.rng, sim.pool.offences
    window = slice(1, HISTORY + 1)
    clean = offences[people, window].sum(axis=1) == 0
    log_rate = np.log(sim.pool.rate[people])
    surplus = int(clean.sum()) - target
    if surplus > 0:  # give the most active of the clean ones one offence
        pick = people[
            top_k_by_group(
                np.where(clean, gumbel_keys(rng, log_rate), -np.inf),
                np.zeros(len(people), int),
                np.array([surplus]),
            )
        ]
        offences[pick, rng.integers(1, HISTORY + 1, size=len(pick))] += 1
    elif surplus < 0:  # clear the history of the least active of the others
        pick = people[
            top_k_by_group(
                np.where(~clean, gumbel_keys(rng, -log_rate), -np.inf),
                np.zeros(len(people), int),
                np.array([-surplus]),
            )
        ]
        offences[np.ix_(pick, np.arange(1, HISTORY + 1))] = 0


# --------------------------------------------------------------------------- people


def _create(
    sim: Simulation,
    t: int,
    cells: np.ndarray,
    *,
    male_share: float,
    victim_share: float,
    first: bool = False,
) -> np.ndarray:
    """New people in the given composition cells, listed at quarter ``t``."""
    pool, rng, add = sim.pool, sim.rng, sim.raw.get("additions", {})
    k = len(cells)
    idx = pool.take(k)
    if k == 0:
        return idx
    pool.eth[idx] = _ethnicity(rng, cells // 3, add)
    ages = _ages(rng, cells % 3, add)
    pool.birth[idx] = birth_for_age(rng, ages, int(sim.plan.ends[t]))
    year, month, day = ymd(pool.birth[idx])
    pool.birth_year[idx] = year
    pool.birth_monthday[idx] = month * 100 + day
    pool.sex[idx] = _sex(rng, k, male_share, add)
    pool.borough[idx] = _borough(rng, pool.eth[idx], sim.boroughs)
    _latent_traits(sim, idx)
    pool.victim[idx] = _victims(sim, idx, victim_share)
    _offence_history(
        sim,
        idx,
        t,
        trigger=not first and bool(sim.raw.get("offending", {}).get("listing_trigger", True)),
    )
    pool.date_added[idx] = _first_date_added(sim, idx) if first else _date_added(sim, idx, t)
    pool.last_reviewed[idx] = pool.date_added[idx]
    pool.listed[idx] = True
    return idx


def _ethnicity(rng: np.random.Generator, eth3: np.ndarray, add: dict) -> np.ndarray:
    out = np.empty(len(eth3), np.int8)
    out[eth3 == BLACK] = _ETH_CODE["Black"]
    out[eth3 == WHITE] = _ETH_CODE["White"]
    rest = add.get(
        "rest_ethnicity", {"Asian": 0.4, "Mixed": 0.35, "Other": 0.15, "Not stated": 0.1}
    )
    codes = np.array([_ETH_CODE[g] for g in rest], dtype=np.int8)
    is_rest = eth3 == REST
    out[is_rest] = codes[
        exact_categories(rng, int(is_rest.sum()), np.array(list(rest.values()), float))
    ]
    return out


_AGE_KEYS = (
    ("ages_under_18", range(12, 18)),
    ("ages_18_24", range(18, 25)),
    ("ages_25_plus", range(25, 41)),
)


def _ages(rng: np.random.Generator, age3: np.ndarray, add: dict) -> np.ndarray:
    out = np.empty(len(age3), np.int64)
    for cls, (key, default) in enumerate(_AGE_KEYS):
        values = np.array(add.get(key, list(default)), dtype=np.int64)
        weights = np.array(add.get(key + "_weights", [1.0] * len(values)), dtype=float)
        where = age3 == cls
        out[where] = rng.choice(values, size=int(where.sum()), p=weights / weights.sum())
    return out


def _sex(rng: np.random.Generator, k: int, male_share: float, add: dict) -> np.ndarray:
    not_male = add.get("not_male", {"Female": 0.8, "Not stated": 0.2})
    codes = np.array([SEXES.index("Male")] + [SEXES.index(s) for s in not_male], dtype=np.int8)
    shares = np.array([male_share] + [(1 - male_share) * v for v in not_male.values()], dtype=float)
    return codes[exact_categories(rng, k, shares)]


def _borough(rng: np.random.Generator, eth: np.ndarray, boroughs: Boroughs) -> np.ndarray:
    out = np.empty(len(eth), np.int16)
    for g in range(len(ETHNICITIES)):
        where = eth == g
        out[where] = rng.choice(
            len(boroughs.names), size=int(where.sum()), p=boroughs.weight_by_ethnicity[g]
        )
    return out


def _latent_traits(sim: Simulation, idx: np.ndarray) -> None:
    pool, rng, k = sim.pool, sim.rng, len(idx)
    off, harm, share = (
        sim.raw.get("offending", {}),
        sim.raw.get("harm", {}),
        sim.raw.get("sharing", {}),
    )
    nv = rng.random(k) < sim.boroughs.non_violent_share[pool.borough[idx]]
    shape = float(off.get("active_rate_shape", 1.5))
    active = rng.gamma(shape, float(off.get("active_rate_mean", 0.3)) / shape, size=k)
    pool.non_violent[idx] = nv
    pool.rate[idx] = np.where(nv, float(off.get("non_violent_rate", 0.01)), active)
    pool.serious[idx] = rng.lognormal(0.0, float(harm.get("seriousness_sd", 0.35)), size=k)
    pool.intel_shift[idx] = np.where(nv, float(harm.get("non_violent_intel_shift", -0.7)), 0.0)
    pool.intel[idx] = rng.normal(size=k)
    pool.share_latent[idx] = rng.normal(size=k)
    probs = np.array(share.get("partner_probability", [0.5] * len(_partners(sim.raw))), dtype=float)
    bits = rng.random((k, len(probs))) < probs
    none = ~bits.any(axis=1)
    bits[none, rng.integers(0, len(probs), size=int(none.sum()))] = True
    pool.partners[idx] = (bits * (1 << np.arange(len(probs)))).sum(axis=1)


def _partners(raw: dict) -> list[str]:
    return list(
        raw.get("sharing", {}).get(
            "partners", ["housing", "education", "DWP", "social_services", "private_landlord"]
        )
    )


def _victims(sim: Simulation, idx: np.ndarray, share: float) -> np.ndarray:
    weight = float(
        sim.raw.get("defects", {})
        .get("victims_as_offenders", {})
        .get("victim_weight_non_violent", 1.0)
    )
    log_w = np.where(sim.pool.non_violent[idx], np.log(weight), 0.0)
    k = int(round(share * len(idx)))
    return top_k_by_group(gumbel_keys(sim.rng, log_w), np.zeros(len(idx), int), np.array([k]))


def _offence_history(sim: Simulation, idx: np.ndarray, t: int, trigger: bool) -> None:
    """Violent offences per quarter for the person's whole simulated life on the list."""
    off, pool, rng = sim.raw.get("offending", {}), sim.pool, sim.rng
    ages = (sim.column_ends[None, :] - pool.birth[idx, None]) / 365.25
    decline = np.exp(
        -float(off.get("age_decline", 0.06))
        * np.maximum(0.0, ages - float(off.get("age_peak", 19)))
    )
    period = np.concatenate(
        [
            np.full(HISTORY, sim.plan.behaviour["offence_rate_multiplier"][0]),
            sim.plan.behaviour["offence_rate_multiplier"],
        ]
    )
    lam = pool.rate[idx, None] * decline * period[None, :]
    counts = np.minimum(rng.poisson(lam), 100).astype(np.int8)
    if trigger:
        col = HISTORY + t
        recent = counts[:, col - 3 : col + 1].sum(axis=1) > 0
        needs = ~pool.non_violent[idx] & ~recent
        rows = np.flatnonzero(needs)
        counts[rows, col - rng.integers(0, 4, size=len(rows))] += 1
    pool.offences[idx] = counts


def _twelfth_birthday(sim: Simulation, idx: np.ndarray) -> np.ndarray:
    return years_after(sim.pool.birth[idx], 12)


def _date_added(sim: Simulation, idx: np.ndarray, t: int) -> np.ndarray:
    low = np.maximum(sim.plan.starts[t], _twelfth_birthday(sim, idx))
    return uniform_days(sim.rng, low, np.full(len(idx), sim.plan.ends[t] - 1))


def _first_date_added(sim: Simulation, idx: np.ndarray) -> np.ndarray:
    """Listing dates of the first snapshot: exponential tenure, never before age 12 or the matrix start."""
    initial = sim.raw.get("initial", {})
    earliest = np.datetime64(str(initial.get("earliest_date_added", "2012-01-01")), "D").astype(
        np.int64
    )
    end = int(sim.plan.ends[0]) - 1
    low = np.maximum(earliest, _twelfth_birthday(sim, idx))
    tenure = np.rint(
        sim.rng.exponential(365.25 * float(initial.get("tenure_mean_years", 2.0)), size=len(idx))
    ).astype(np.int64)
    added = end - tenure
    too_early = added < low
    added[too_early] = uniform_days(sim.rng, low[too_early], np.full(int(too_early.sum()), end))
    return added


# --------------------------------------------------------------------------- turnover


def _advance_intelligence(sim: Simulation) -> None:
    rho = float(sim.raw.get("harm", {}).get("intel_persistence", 0.85))
    n = sim.pool.n
    sim.pool.intel[:n] = rho * sim.pool.intel[:n] + np.sqrt(1 - rho**2) * sim.rng.normal(size=n)


def _turnover(sim: Simulation, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Remove and add people so the list at ``t`` has exactly the planned composition."""
    plan, prev = sim.plan, sim.stock
    cells = cells_of(sim, prev, t)
    current = np.bincount(cells, minlength=9)
    target = target_table(plan, t, current.reshape(3, 3)).ravel()
    additions, removals, remove_k, add_k = _flows(sim, t, current, target)
    removed = _removals(sim, t, prev, cells, remove_k)
    relisted = _relistings(sim, t, add_k)
    relisted_cells = np.bincount(cells_of(sim, relisted, t), minlength=9)
    new = _create(
        sim,
        t,
        np.repeat(np.arange(9), add_k - relisted_cells),
        male_share=float(sim.raw.get("additions", {}).get("male_share", 0.99)),
        victim_share=float(sim.raw.get("additions", {}).get("victim_share", 0.75)),
    )
    _start_spell(sim, relisted, t)
    stock = np.concatenate([prev[~removed], relisted, new])
    order = np.argsort(stock, kind="stable")
    is_relisted = np.zeros(len(stock), bool)
    is_relisted[len(stock) - len(new) - len(relisted) : len(stock) - len(new)] = True
    sim.flows.append(
        {
            "additions": int(additions),
            "removals": int(removals),
            "relisted": int(len(relisted)),
            "new": int(len(new)),
        }
    )
    return stock[order], is_relisted[order]


def _flows(
    sim: Simulation, t: int, current: np.ndarray, target: np.ndarray
) -> tuple[int, int, np.ndarray, np.ndarray]:
    """Removals and additions per cell: the net change each cell needs, plus churn."""
    plan = sim.plan
    diff = target - current
    need_add, need_remove = np.maximum(diff, 0), np.maximum(-diff, 0)
    additions = int(sim.additions[t])
    if need_add.sum() > additions and plan.additions_fixed[t]:
        additions += _borrow_additions(sim, t, int(need_add.sum()) - additions)
    if need_add.sum() > additions:
        if plan.additions_fixed[t]:
            raise ValueError(
                ERR_INFEASIBLE_ADDITIONS.format(
                    path=sim.path,
                    quarter=plan.quarters[t],
                    need=int(need_add.sum()),
                    have=additions,
                    hint=HINT_SMALL_SCALE.format(scale=plan.scale) if plan.scale < 1 else "",
                )
            )
        additions = int(need_add.sum())
    removals = int(current.sum() + additions - plan.people[t])
    if removals > current.sum():
        raise ValueError(
            ERR_INFEASIBLE_REMOVALS.format(
                path=sim.path, quarter=plan.quarters[t], additions=additions, people=plan.people[t]
            )
        )
    churn = additions - int(need_add.sum())
    age_w = np.array(
        sim.raw.get("additions", {}).get("churn_age_weights", [0.25, 0.55, 0.2]), float
    )
    weights = target * np.tile(age_w, 3)
    extra = capped_largest_remainder(weights, churn, current - need_remove)
    return additions, removals, need_remove + extra, need_add + extra


def _borrow_additions(sim: Simulation, t: int, short: int) -> int:
    """Take up to ``short`` additions from the later quarters of ``t``'s calibrated block.

    The block's total is the published figure; how it is split over its quarters is
    an assumption (``weights``). At a small scale each cell of the composition is
    rounded to whole people, so a quarter can need one or two more additions than
    its share: taking them from the block's later quarters (the latest first) keeps
    the total exact. Returns how many were taken.
    """
    block = sim.plan.additions_block
    later = [u for u in range(len(block) - 1, t, -1) if block[u] == block[t] and block[t] >= 0]
    taken = 0
    for u in later:
        k = min(short - taken, int(sim.additions[u]))
        sim.additions[u] -= k
        taken += k
        if taken == short:
            break
    sim.additions[t] += taken
    return taken


def _removals(
    sim: Simulation, t: int, prev: np.ndarray, cells: np.ndarray, k: np.ndarray
) -> np.ndarray:
    """Mask over ``prev``: who leaves the list, ``k[c]`` from each cell, weighted."""
    pool, b = sim.pool, sim.boroughs
    tenure = (sim.plan.ends[t] - pool.date_added[prev]) / 365.25
    green_w = sim.plan.behaviour["low_risk_removal_log_weight"][t]
    log_w = (
        green_w * pool.was_green[prev]
        - b.zero_harm_offset[pool.borough[prev]] * pool.was_zero[prev]
        + float(sim.raw.get("removal", {}).get("tenure_log_weight", 0.15)) * tenure
    )
    return top_k_by_group(gumbel_keys(sim.rng, log_w), cells, k)


def _relistings(sim: Simulation, t: int, room: np.ndarray) -> np.ndarray:
    """People removed earlier and listed again now, at most ``room[c]`` per cell."""
    share = float(sim.raw.get("defects", {}).get("relisted", {}).get("share_of_additions", 0.0))
    want = int(round(share * room.sum()))
    pool = sim.pool
    listed_now = np.zeros(pool.n, bool)
    listed_now[sim.stock] = True
    candidates = np.flatnonzero(pool.listed[: pool.n] & ~listed_now)
    if want == 0 or len(candidates) == 0:
        return np.zeros(0, np.int64)
    away = t - pool.last_quarter[candidates]
    keys = gumbel_keys(sim.rng, -0.3 * away)
    fits = top_k_by_group(keys, cells_of(sim, candidates, t), room)
    keys = np.where(fits, keys, -np.inf)
    chosen = top_k_by_group(
        keys, np.zeros(len(candidates), int), np.array([min(want, int(fits.sum()))])
    )
    return candidates[chosen]


def _start_spell(sim: Simulation, people: np.ndarray, t: int) -> None:
    """A re-listed person gets a new listing date (and a review on it)."""
    if len(people):
        sim.pool.date_added[people] = _date_added(sim, people, t)
        sim.pool.last_reviewed[people] = sim.pool.date_added[people]
        sim.pool.was_missed[people] = False


# --------------------------------------------------------------------------- reviews


def _review(sim: Simulation, t: int, stock: np.ndarray) -> np.ndarray:
    """Routine quarterly reviews; an exact share of eligible records is missed (overdue)."""
    pool, plan, rng = sim.pool, sim.plan, sim.rng
    start, end = int(plan.starts[t]), int(plan.ends[t])
    prev_end = start - 1
    added = pool.date_added[stock]
    new_spell = added >= start
    if t == 0:
        eligible = added <= prev_end - REVIEW_LEAD_DAYS
    else:
        eligible = ~new_spell & (pool.last_reviewed[stock] <= prev_end - REVIEW_LEAD_DAYS)
    rate = float(plan.behaviour["review_miss_rate"][t])
    log_w = np.log(sim.boroughs.miss_multiplier[pool.borough[stock]])
    log_w += (
        np.log(float(sim.raw.get("reviews", {}).get("repeat_miss_weight", 1.0)))
        * pool.was_missed[stock]
    )
    k = int(round(rate * eligible.sum()))
    missed = top_k_by_group(
        np.where(eligible, gumbel_keys(rng, log_w), -np.inf),
        np.zeros(len(stock), int),
        np.array([k]),
    )
    routine = ~missed & ~new_spell
    pool.last_reviewed[stock[routine]] = uniform_days(
        rng, np.full(int(routine.sum()), start), np.full(int(routine.sum()), end - REVIEW_LEAD_DAYS)
    )
    if t == 0:
        low = np.maximum(added[missed], prev_end - EARLIEST_MISSED_REVIEW_DAYS)
        pool.last_reviewed[stock[missed]] = uniform_days(
            rng, low, np.full(int(missed.sum()), prev_end - REVIEW_LEAD_DAYS)
        )
    pool.was_missed[stock] = missed
    return missed


# --------------------------------------------------------------------------- harm, bands, sharing


def _harm(sim: Simulation, t: int, stock: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Harm scores (exactly the planned number at 0) and violent offences in two years."""
    pool, cfg = sim.pool, sim.raw.get("harm", {})
    col = HISTORY + t
    window = pool.offences[stock, col - 7 : col + 1].astype(np.int64)
    violent_2y = window.sum(axis=1)
    recent = window[:, 4:][:, ::-1]  # this quarter first
    decay = np.array(cfg.get("decay", [1.0, 0.8, 0.6, 0.4]), float)
    no_recent = recent.sum(axis=1) == 0
    latent = pool.intel_shift[stock] + pool.intel[stock]
    zero = _zero_harm(sim, t, stock, no_recent, latent)
    offence_part = (
        float(cfg.get("offence_weight", 10.0)) * pool.serious[stock] * (recent * decay).sum(axis=1)
    )
    intel_part = np.exp(
        float(cfg.get("intel_log_mean", 1.0)) + float(cfg.get("intel_log_sd", 0.9)) * latent
    )
    harm = np.maximum(np.round(offence_part + intel_part, 1), 0.1)
    return np.where(zero, 0.0, harm), violent_2y


def _zero_harm(
    sim: Simulation, t: int, stock: np.ndarray, room: np.ndarray, latent: np.ndarray
) -> np.ndarray:
    """Exactly the planned number at harm 0, spread over boroughs by their practice."""
    borough = sim.pool.borough[stock].astype(np.int64)
    need = int(sim.plan.harm_zero[t])
    room_b = np.bincount(borough[room], minlength=len(sim.boroughs.names))
    if need > room_b.sum():
        raise ValueError(
            ERR_INFEASIBLE_ZERO.format(
                path=sim.path, quarter=sim.plan.quarters[t], need=need, room=int(room_b.sum())
            )
        )
    people_b = np.bincount(borough, minlength=len(sim.boroughs.names))
    counts, common = zero_harm_quota(people_b, room_b, need, sim.boroughs.zero_harm_offset, sim.rng)
    sim.zero_harm_common.append(common)
    keys = np.where(room, -latent, -np.inf)
    return top_k_by_group(keys, borough, counts) & room


def _band(sim: Simulation, stock: np.ndarray, harm: np.ndarray) -> np.ndarray:
    """Band index into RISK_BANDS from the borough's cut-points."""
    b = sim.pool.borough[stock]
    band = np.full(len(stock), GREEN, np.int8)
    band[harm >= sim.boroughs.amber[b]] = AMBER
    band[harm >= sim.boroughs.red[b]] = RED
    return band


def _sharing(sim: Simulation, t: int, stock: np.ndarray, band: np.ndarray) -> np.ndarray:
    """Partner bitmask per record (0: not shared); exact shared shares of Green and of Red/Amber."""
    rho = float(sim.raw.get("sharing", {}).get("persistence", 0.8))
    key = rho * sim.pool.share_latent[stock] + np.sqrt(1 - rho**2) * sim.rng.normal(size=len(stock))
    green = (band == GREEN).astype(np.int64)
    k = np.array(
        [
            int(round(sim.plan.behaviour["high_risk_shared_rate"][t] * (green == 0).sum())),
            int(round(sim.plan.behaviour["low_risk_shared_rate"][t] * green.sum())),
        ]
    )
    shared = top_k_by_group(key, green, k)
    return np.where(shared, sim.pool.partners[stock], 0).astype(np.int16)


def _update_state(
    sim: Simulation, t: int, stock: np.ndarray, harm: np.ndarray, band: np.ndarray
) -> np.ndarray:
    """Carry what the next quarter needs; return each record's run of consecutive zero-harm snapshots."""
    pool = sim.pool
    zero = harm == 0
    continuing = pool.last_quarter[stock] == t - 1
    run = np.where(zero, np.where(continuing, pool.zero_run[stock], 0) + 1, 0).astype(np.int32)
    pool.zero_run[stock] = run
    pool.last_quarter[stock] = t
    pool.was_zero[stock] = zero
    pool.was_green[stock] = band == GREEN
    return run


# --------------------------------------------------------------------------- outcome


def outcome_codes(sim: Simulation, t: int, people: np.ndarray) -> np.ndarray:
    """1 if a violent offence follows in the 4 quarters after ``t``, 0 if not, -1 if not yet known."""
    col = HISTORY + t
    if t + 4 >= len(sim.plan.quarters):
        return np.full(len(people), -1, np.int8)
    return (sim.pool.offences[people, col + 1 : col + 5].sum(axis=1) > 0).astype(np.int8)
