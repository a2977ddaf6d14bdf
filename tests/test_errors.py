"""Tests for fairness.errors: one hierarchy, names still importable where they were, one exit code mapping."""

from __future__ import annotations

import pandas as pd
import pytest

import fairness
from fairness import errors
from fairness.cli import main
from fairness.errors import FairnessError

#: Where each error has always been importable from, and the built-in it has always been.
WHERE = {
    "MatrixFileError": ("fairness.io.validation", ValueError),
    "ProfileError": ("fairness.profiles", ValueError),
    "CountTableError": ("fairness.results.counts_table", ValueError),
    "DisclosureError": ("fairness.publish.disclosure", ValueError),
    "PublicationLeakError": ("fairness.publish.privacy", ValueError),
    "PseudonymKeyError": ("fairness.publish.privacy", ValueError),
    "AuditLogError": ("fairness.publish.privacy", OSError),
    "PersonIdLeakError": ("fairness.report.runner", RuntimeError),
    "SmallCountError": ("fairness.report.runner", RuntimeError),
    "RowLevelOutputError": ("fairness.io.safe_write", ValueError),
    "ReportFolderError": ("fairness.report.runner", ValueError),
    "RowLevelColumnError": ("fairness.report.format", ValueError),
}


@pytest.mark.parametrize("name", sorted(WHERE))
def test_each_error_is_a_fairness_error_importable_where_it_was(name):
    import importlib

    module, builtin = WHERE[name]
    cls = getattr(importlib.import_module(module), name)
    assert cls is getattr(errors, name)
    assert issubclass(cls, FairnessError) and issubclass(cls, builtin)
    assert cls.exit_code == 2


def test_every_error_of_the_module_is_listed():
    declared = {n for n in errors.__all__ if n != "FairnessError"}
    assert declared == set(WHERE)
    assert fairness.FairnessError is FairnessError


def test_disclosure_findings_default_to_an_empty_table_of_the_finding_columns():
    from fairness.publish.disclosure import FINDING_COLUMNS

    err = errors.DisclosureError("a count of 3 would be shown")
    assert list(err.findings.columns) == list(FINDING_COLUMNS) == list(errors.DISCLOSURE_FINDING_COLUMNS)
    assert len(err.findings) == 0
    found = pd.DataFrame({"source": ["a.html"], "kind": ["small_count"], "location": ["table 1"], "detail": ["3"]})
    assert errors.PublicationLeakError("leak", found).findings is found


def test_cli_maps_a_fairness_error_to_its_exit_code_and_message(monkeypatch, capsys):
    """The one place: any FairnessError a command raises becomes its message and exit_code, no traceback."""
    import fairness.cli as cli

    class Refused(FairnessError):
        exit_code = 3

    def schema(args):
        raise Refused("the schema cannot be printed here: use a terminal")

    monkeypatch.setattr(cli, "COMMANDS", [(n, a, schema if n == "schema" else f) for n, a, f in cli.COMMANDS])
    assert main(["schema"]) == 3
    err = capsys.readouterr().err
    assert err == "fairness schema: error: the schema cannot be printed here: use a terminal\n"


def test_cli_unusable_file_exits_2(tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert main(["validate", str(empty)]) == 2
    assert "Traceback" not in capsys.readouterr().err
