"""Build Census ethnic-group counts by police force area from the local-authority table.

Census 2021 publishes usual residents by ethnic group per local authority, not
per police force area. Each lower-tier local authority lies in exactly one
force area (ONS lookup LAD 2022 -> CSP 2022 -> PFA 2022), so a force area's
count is the sum over its authorities. This script does that sum, as
``data/reference/england-wales/SOURCES.md`` describes, so it can be rerun for
another census table or another lookup:

* the 19 detailed categories (TS021) per force area (``--detailed OUT``), and
* the 5 high-level groups (Asian, Black, Mixed, White, Other), mapped from the
  detailed categories by the profile's ``[groups.map]`` (``--out OUT``), with
  ``Total_sum_of_19``.

Every authority must be in the lookup and every lookup authority in the table
(else the script stops and names them); "Does not apply" (always 0) is dropped.

    python scripts/build_pfa_census.py --out built.csv --detailed detailed.csv

With no options it rebuilds ``census2021_ethnic_group5_by_pfa_built.csv`` into
standard output; ``tests/test_profiles.py`` checks the result equals the
shipped file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "data" / "reference" / "england-wales"
LA_TABLE = FOLDER / "census2021_ethnic_group_by_local_authority.csv"
LOOKUP = FOLDER / "lad22_csp22_pfa22_lookup.csv"

LA_CODE = "Lower Tier Local Authorities Code"
CATEGORY_CODE = "Ethnic group (20 categories) Code"
CATEGORY = "Ethnic group (20 categories)"
VALUE = "Observation"
DOES_NOT_APPLY = -8
#: Column order of the shipped 5-group file.
GROUP_ORDER = ("Asian", "Black", "Mixed", "White", "Other")

ERR_COLUMNS = "{file}: column(s) {missing} not found; columns: {found}"
ERR_UNMATCHED = "{file}: {n} local authorit{ies} not in {other}: {codes}"
ERR_CATEGORY = "{file}: category {value!r} is not in the profile's [groups.map]; valid: {valid}"


def _read(path: Path, needed: list[str]) -> pd.DataFrame:
    df = pd.read_csv(path, dtype={c: str for c in needed if c != VALUE and c != CATEGORY_CODE})
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise SystemExit(ERR_COLUMNS.format(file=path, missing=", ".join(missing), found=", ".join(df.columns)))
    return df


def build(la_table: Path = LA_TABLE, lookup: Path = LOOKUP, *,
          profile: str = "england-wales-forces") -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(five_groups, detailed)`` by force area, in force-code order."""
    from fairness.profiles import load_profile

    la = _read(la_table, [LA_CODE, CATEGORY_CODE, CATEGORY, VALUE])
    lk = _read(lookup, ["LAD22CD", "PFA22CD", "PFA22NM"])
    la = la[la[CATEGORY_CODE] != DOES_NOT_APPLY]
    in_table, in_lookup = set(la[LA_CODE]), set(lk["LAD22CD"])
    for codes, file, other in ((in_table - in_lookup, la_table, lookup.name),
                               (in_lookup - in_table, lookup, la_table.name)):
        if codes:
            raise SystemExit(ERR_UNMATCHED.format(file=file, n=len(codes), ies="y" if len(codes) == 1 else "ies",
                                                  other=other, codes=", ".join(sorted(codes))))
    merged = la.merge(lk[["LAD22CD", "PFA22CD", "PFA22NM"]], left_on=LA_CODE, right_on="LAD22CD",
                      how="inner", validate="many_to_one")
    keys = ["PFA22CD", "PFA22NM"]
    detailed = (merged.pivot_table(index=keys, columns=CATEGORY, values=VALUE, aggfunc="sum")
                .reset_index().sort_values("PFA22CD").reset_index(drop=True))
    categories = (merged[[CATEGORY_CODE, CATEGORY]].drop_duplicates().sort_values(CATEGORY_CODE)[CATEGORY].tolist())
    detailed = detailed[keys + categories]
    detailed.columns.name = None

    mapping = load_profile(profile).groups.lookup()
    five = detailed[keys].copy()
    for c in categories:
        if c.lower() not in mapping:
            raise SystemExit(ERR_CATEGORY.format(file=la_table, value=c, valid=", ".join(sorted(mapping))))
    for g in GROUP_ORDER:
        cols = [c for c in categories if mapping[c.lower()] == g]
        five[g] = detailed[cols].sum(axis=1)
    five["Total_sum_of_19"] = detailed[categories].sum(axis=1)
    return five, detailed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--la-table", type=Path, default=LA_TABLE, help="Census table by local authority (long)")
    p.add_argument("--lookup", type=Path, default=LOOKUP, help="ONS local authority -> police force area lookup")
    p.add_argument("--profile", default="england-wales-forces", help="profile whose [groups.map] maps categories")
    p.add_argument("--out", type=Path, help="write the 5-group table here (default: standard output)")
    p.add_argument("--detailed", type=Path, help="write the 19-category table here")
    args = p.parse_args(argv)
    five, detailed = build(args.la_table, args.lookup, profile=args.profile)
    if args.out:
        five.to_csv(args.out, index=False)
    else:
        five.to_csv(sys.stdout, index=False)
    if args.detailed:
        detailed.to_csv(args.detailed, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
