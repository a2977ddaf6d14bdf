"""No London words outside the london-gvm profile (issue 14).

Every sentence, label, table caption and chart text that an audit under the
``england-wales-forces`` profile produces is rendered here (the audit's
headline, main points and summary; the publication sentences; the report's
tables and notes; the notebooks' prose; every chart of the report and the
briefing), and searched for "London", "Londoners", "borough" and "Met". The
profile's own words (its area names, such as "Metropolitan Police" and "City
of London", and the profile name "london-gvm") are taken out first: they are
the profile's, not the toolkit's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import fairness  # noqa: E402
from fairness import plots, synth  # noqa: E402
from fairness.publish.publication import protect_audit  # noqa: E402
from fairness.report import format as fr  # noqa: E402
from fairness.results import headline, sentences  # noqa: E402

EW = "england-wales-forces"
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
FORBIDDEN = re.compile(r"\bLondon(ers)?\b|\bboroughs?\b|\bBoroughs?\b|\bMet\b")


@pytest.fixture(scope="module")
def ew():
    """An audit (internal) and its publication version, of the small synthetic matrix set in England and Wales."""
    matrix = synth.generate("small", seed=1, profile=EW).matrix
    res = fairness.audit(matrix, profile=EW)
    return res, res.for_publication()


def _clean(text: str) -> str:
    """The text without the profile's own words (area names, spellings) and the profile name london-gvm."""
    p = fairness.load_profile(EW)
    names = sorted({n for a in p.areas for n in (a.name, *a.spellings)}, key=len, reverse=True)
    for n in (*names, "london-gvm"):
        text = text.replace(n, "")
    return text


def _visible(text: str) -> str:
    """What a reader sees: HTML tags (and their attributes, such as the anchor id "boroughs") taken out."""
    return re.sub(r"<[^>]+>", " ", re.sub(r"<style.*?</style>", " ", text, flags=re.S))


def _assert_no_london(texts: list[str], where: str) -> None:
    bad = [(t, m.group(0)) for t in texts for m in [FORBIDDEN.search(_clean(_visible(str(t))))] if m]
    assert not bad, f"{where}: London words under {EW}: " + "; ".join(f"{w!r} in {t[:160]!r}" for t, w in bad[:5])


def _text(obj) -> str:
    for attr in ("_repr_html_", "_repr_markdown_"):
        f = getattr(obj, attr, None)
        if f is not None:
            return f()
    return str(obj)


def test_sentences_and_summaries_use_the_profile_words(ew):
    res, pub = ew
    texts = []
    for r in (res, pub):
        texts += r.headline() + r.main_points() + [r.summary(), headline.text_summary(r), headline.html_summary(r)]
        texts += [sentences.borough_sentence(r, metric=m) for m in r.overdispersion["metric"]]
        texts += [sentences.borough_sentence(r, metric=m, short=True) for m in r.overdispersion["metric"]]
        texts += [sentences.dispersion_sentence(r, m) for m in r.overdispersion["metric"]]
        texts += list(r.sentences["sentence"])
    # the publication sentences of fairness.publish.publication (hidden ratios said to be suppressed)
    texts += list(protect_audit(res).sentences["sentence"])
    texts = [t for t in texts if t]
    assert any("England and Wales" in t for t in texts) and any("police force area" in t for t in texts)
    _assert_no_london(texts, "sentences")


def test_report_tables_notes_and_notebook_prose_use_the_profile_words(ew):
    res, pub = ew
    texts = []
    for r in (res, pub):
        texts += [_text(f(r)) for f in (
            fr.title_block, fr.main_points_box, fr.headline_box, fr.representation_table, fr.relative_rate_table,
            fr.ratio_sentences, fr.benchmark_sensitivity_table, fr.no_risk_table, fr.overdispersion_table,
            fr.dispersion_notes, fr.questions_for_force, fr.methods_notes, fr.quality_summary)]
        texts.append(_text(fr.flagged_boroughs_table(r, include_within=True)))
        # the data-protection checks: their names and captions (the "Finding it tests" column quotes the
        # regulator's findings about the Met's matrix, the source of each check, and is left out here)
        checks = fr.checks_table(r)
        texts += [checks.caption, checks.note, *checks.frame["Check"]]
        texts += [_text(fr.not_assessable(r, s)) for s in fr.SECTION_TABLES]
        texts += [fr.metric_label(m, r) for m in r.overdispersion["metric"]]
    # the words of both notebooks: every fr.prose / fr.fill cell, evaluated against this audit
    for nb in ("quarterly_oversight_report.ipynb", "scrutiny_briefing.ipynb"):
        cells = json.loads((NOTEBOOKS / nb).read_text(encoding="utf-8"))["cells"]
        for c in cells:
            src = "".join(c["source"])
            if c["cell_type"] == "code" and src.startswith("fr.prose("):
                texts.append(_text(eval(src, {"fr": fr, "res": pub})))  # noqa: S307 - our own notebook
            for m in re.finditer(r'fr\.fill\(res, ("[^"]*")', src):
                texts.append(fr.fill(pub, eval(m.group(1))))  # noqa: S307
    assert any("Police force areas" in t for t in texts)
    _assert_no_london(texts, "report")


def test_london_text_is_kept_for_the_default_profile():
    # the same cells under london-gvm read as before (README: `make report` unchanged)
    from types import SimpleNamespace

    res = SimpleNamespace(parameters={})
    assert fr.fill(res, "{Areas} of {place}: {unit}") == "Boroughs of London: people listed"
    assert fr.fill(res, "{place}", london="the matrix") == "the matrix"
    assert fr.assessable(res, "trends")  # London shows every section as before


def _figure_texts(ax) -> list[str]:
    fig = ax.figure
    out = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    plt.close(fig)
    return out


def test_chart_labels_use_the_profile_words(ew):
    res, pub = ew
    where = fr.place(pub)
    texts = []
    for metric in ("rate_per_1000", "no_risk_share"):  # a rate and a share: every label of the funnel
        texts += _figure_texts(plots.funnel(pub.boroughs, pub.funnel_limits, metric=metric, place=where))
    texts += _figure_texts(plots.ratio_forest(pub.relative_rate, ratio="rri", place=where))
    texts += _figure_texts(plots.share_bars(fr.no_risk_rows(pub, by="ethnicity"), place=where))
    texts += _figure_texts(plots.composition(pub.representation, place=where))
    assert any("police force area" in t for t in texts) and any("England and Wales overall" in t for t in texts)
    _assert_no_london(texts, "charts")


def test_place_of_a_profile_read_from_a_path_keeps_its_words():
    # a published audit's parameters name a path profile by its stem, which is not a shipped profile: the
    # place words come from the parameters (the area word from the 'All <areas>' row of its vocabulary)
    params = {"profile": "twoshire", "place": "Twoshire", "place_people": "people in Twoshire",
              "vocabulary": {"areas": ["North", "South", "Twoshire", "All districts"]}}
    where = sentences.place(params)
    assert (where.name, where.area, where.areas, where.is_default) == ("Twoshire", "district", "districts", False)
    # a shipped profile named in the parameters gives all its words, even with place words beside it
    assert sentences.place({"profile": EW, "place": "England and Wales"}).area == "police force area"
