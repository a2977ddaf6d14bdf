"""Tests for fairness.results.contract: the registry is the contract of AuditResult, its JSON and its doc.

One small matrix (tests/test_audit.py's 272 rows, with outcomes recorded so
that band performance is assessed) is audited once; every table must have
exactly the registry's columns, in order, of the registry's kinds.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api  # noqa: F401  (imported first: it installs warning filters of its own)

import fairness
from fairness.definitions import ALL_COLUMNS
from fairness.results import contract
from fairness.results.audit import TABLES, AuditResult
from tests.test_audit import rows

pytestmark = pytest.mark.filterwarnings("ignore")

DOC = Path(__file__).resolve().parents[1] / "docs" / "audit_contract.md"


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    data = rows()
    for r in data:  # outcomes known, so that the band tables are filled
        r["outcome_violence_12m"] = "true" if float(r["harm_score"]) >= 50 else "false"
    path = tmp_path_factory.mktemp("contract") / "matrix.csv"
    lines = [",".join(ALL_COLUMNS)] + [",".join(str(r[c]) for c in ALL_COLUMNS) for r in data]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = fairness.audit(path)
    return res, res.for_publication()


def _kind_ok(series: pd.Series, kind: str) -> bool:
    """Does every value of ``series`` (missing ones aside) have the registry's kind?"""
    dtype = series.dtype
    if kind == "float" and pd.api.types.is_float_dtype(dtype):
        return True
    if kind == "int" and pd.api.types.is_integer_dtype(dtype):
        return True
    if kind == "bool" and pd.api.types.is_bool_dtype(dtype):
        return True
    if kind == "str" and pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return True
    values = [v for v in series.tolist() if not (v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)))]
    types = {"str": (str,), "int": (int, np.integer), "float": (float, np.floating, int, np.integer),
             "bool": (bool, np.bool_)}[kind]
    if kind == "int":
        values = [v for v in values if not isinstance(v, (bool, np.bool_))] if len(values) else values
    return all(isinstance(v, types) for v in values)


def test_audit_result_fields_follow_the_registry():
    fields = [f.name for f in dataclasses.fields(AuditResult)]
    declared = [f.name for f in contract.RESULT_FIELDS] + [t.name for t in contract.RESULT_TABLES]
    assert sorted(fields) == sorted(declared)
    assert list(TABLES) == [t.name for t in contract.RESULT_TABLES if t.name not in ("disclosure", "suppression")]


def test_every_table_has_the_registry_columns_and_kinds(audited):
    res, _ = audited
    assert res.band_status != "not assessable"  # the band tables are filled, so their columns are checked
    for spec in contract.RESULT_TABLES:
        if spec.name in ("disclosure", "suppression"):  # publication mode only
            continue
        table = getattr(res, spec.name)
        assert len(table), spec.name
        assert tuple(table.columns) == spec.column_names, spec.name
        wrong = [f"{c}:{k} is {table[c].dtype}" for c, k in spec.columns if not _kind_ok(table[c], k)]
        assert not wrong, f"{spec.name}: {wrong}"


def test_publication_keeps_the_columns_and_fills_disclosure(audited):
    res, pub = audited
    for name in TABLES:
        assert tuple(getattr(pub, name).columns) == tuple(getattr(res, name).columns), name
    spec = contract.table("disclosure")
    assert len(pub.disclosure) and tuple(pub.disclosure.columns) == spec.column_names
    wrong = [c for c, k in spec.columns if not _kind_ok(pub.disclosure[c], k)]
    assert not wrong
    spec = contract.table("suppression")
    assert len(pub.suppression) and tuple(pub.suppression.columns) == spec.column_names
    assert not [c for c, k in spec.columns if not _kind_ok(pub.suppression[c], k)]


def test_json_keys_follow_the_registry(audited):
    res, pub = audited
    for result in (res, pub):
        data = json.loads(result.to_json())
        assert tuple(data) == contract.json_keys()
        assert data["format"] == contract.JSON_FORMAT == 2
        for name in TABLES:  # format 2: each column named once, every row as long, empty tables too
            assert set(data[name]) == {"columns", "data"}, name
            assert tuple(data[name]["columns"]) == contract.table(name).column_names, name
            assert all(len(r) == len(data[name]["columns"]) for r in data[name]["data"]), name
    assert json.loads(res.to_json())["source"] == "matrix.csv"  # the name only, never the machine path


def test_json_tables_read_back_as_the_tables(audited):
    """read_json_table gives back each table: same columns, same rows, numbers to 4 significant figures."""
    _, pub = audited
    data = json.loads(pub.to_json())
    for name in TABLES:
        table, back = getattr(pub, name).reset_index(drop=True), contract.read_json_table(data, name)
        assert list(back.columns) == list(table.columns) and len(back) == len(table), name
        for col in table.columns:
            for a, b in zip(table[col], back[col], strict=True):
                if isinstance(a, (float, np.floating)) and not isinstance(b, str):
                    assert (pd.isna(b) and not np.isfinite(a)) or b == pytest.approx(a, rel=5e-4), (name, col)
                elif not isinstance(a, (float, np.floating)):
                    assert str(b) == str(a) or b == a, (name, col, a, b)
    # disclosure decisions: one row per table, column and rule, with the rows it hid
    decisions = contract.read_json_table(data, "disclosure")
    assert list(decisions.columns) == ["table", "column", "hidden", "rule", "rows"]
    assert sum(len(r) for r in decisions["rows"]) == len(pub.disclosure)


def test_read_json_table_reads_format_1_and_refuses_other_shapes():
    records = [{"group": "Black", "count": 12}, {"group": "White", "count": "[c]"}]
    split = {"columns": ["group", "count"], "data": [["Black", 12], ["White", "[c]"]]}
    one, two = contract.read_json_table({"t": records}, "t"), contract.read_json_table({"t": split}, "t")
    assert one.to_dict("list") == two.to_dict("list") == {"group": ["Black", "White"], "count": [12, "[c]"]}
    assert contract.read_json_table({}, "t").empty and contract.read_json_table({"t": []}, "t").empty
    assert list(contract.read_json_table({"t": {"columns": ["a"], "data": []}}, "t").columns) == ["a"]
    for bad in ({"rows": [[1]]}, {"columns": ["a", "b"], "data": [[1]]}, [1, 2], "text"):
        with pytest.raises(ValueError, match="neither a list of records"):
            contract.read_json_table({"t": bad}, "t")


def test_doc_is_generated_from_the_registry(tmp_path):
    text = DOC.read_text(encoding="utf-8")
    block = text.split(contract.START + "\n", 1)[1].split("\n" + contract.END, 1)[0]
    assert block == contract.contract_markdown(), "run fairness.results.contract.update_contract_file"
    copy = tmp_path / "doc.md"
    copy.write_text(text, encoding="utf-8")
    assert contract.update_contract_file(copy) is False  # already up to date: nothing written


def test_registry_rejects_unknown_kinds_and_names():
    with pytest.raises(ValueError, match="column kinds must be one of str, int, float, bool"):
        contract.ResultTable("t", "a table", (("a", "text"),))
    with pytest.raises(ValueError, match="unknown result table 'nope'"):
        contract.table("nope")


def test_the_trend_appendix_reads_format_1_and_format_2_alike(audited):
    """Past quarters' metrics.json (format 1, lists of records) still feed the trend appendix."""
    from fairness.report.runner import headline_metrics

    _, pub = audited
    two = json.loads(pub.to_json())
    one = {k: ([dict(zip(v["columns"], r, strict=True)) for r in v["data"]] if isinstance(v, dict) and "data" in v
               else v) for k, v in two.items() if k != "format"}
    a, b = headline_metrics(two), headline_metrics(one)
    assert a.keys() == b.keys() and a["n"] == 61
    assert all(a[k] == b[k] or (a[k] != a[k] and b[k] != b[k]) for k in a), (a, b)
    assert isinstance(a["ratio"], float) and a["ratio"] == a["ratio"]  # a number was really read
