"""HTML and PDF pages of executed notebooks (nbconvert, then WeasyPrint on A4).

:func:`render_html` turns an executed notebook into a standalone page with the
CSS of ``fairness/report/report.css`` (code hidden for reports, shown for
failed runs); :func:`render_pdf` prints that page and reports its page count
and anything that sticks out past the right margin.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

__all__ = [
    "ERR_MODE",
    "MODES",
    "PDF_SKIPPED",
    "Mode",
    "RenderedPdf",
    "html_page",
    "pdf_available",
    "render_html",
    "render_pdf",
]

Mode = Literal["publication", "internal"]
MODES: tuple[str, ...] = ("publication", "internal")
ERR_MODE = "mode must be one of {valid}; got {got!r}"


def _css() -> str:
    return resources.files("fairness.report").joinpath("report.css").read_text(encoding="utf-8")


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _strip_for_report(nb: Any) -> Any:
    """A copy of ``nb`` without stderr streams (warnings are not for readers)."""
    import copy

    out = copy.deepcopy(nb)
    for cell in out.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = [
                o for o in cell.get("outputs", []) if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]
    return out


def render_html(
    nb: Any,
    *,
    title: str,
    mode: Mode = "publication",
    show_code: bool = False,
    footer: str = "",
    kind: str = "report",
) -> str:
    """A standalone HTML page of an executed notebook.

    With ``show_code=False`` (reports) inputs and prompts are hidden
    (``exclude_input``, ``exclude_input_prompt``, ``exclude_output_prompt``)
    and stderr output is dropped; with ``show_code=True`` (failed runs) the
    code and the error are shown. Internal mode puts the banner
    "INTERNAL — NOT FOR PUBLICATION" at the top of the page and, in print, at
    the top of every page.
    """
    from nbconvert import HTMLExporter

    if mode not in MODES:
        raise ValueError(ERR_MODE.format(valid=", ".join(MODES), got=mode))
    exporter = HTMLExporter(
        template_name="basic",
        exclude_input=not show_code,
        exclude_input_prompt=not show_code,
        exclude_output_prompt=True,
        anchor_link_text="",
    )
    body, _ = exporter.from_notebook_node(nb if show_code else _strip_for_report(nb))
    return html_page(body, title=title, mode=mode, footer=footer or title, kind=kind)


def html_page(body: str, *, title: str, mode: str, footer: str, kind: str = "report") -> str:
    """A standalone page around ``body``: the report CSS, the footer and, in internal mode, the banner."""
    page_css = f"@page {{ @bottom-left {{ content: {_css_string(footer)}; }} }}\n"
    banner = ""
    if mode == "internal":
        page_css += (
            '@page { @top-center { content: "INTERNAL — NOT FOR PUBLICATION"; color: #a00000; '
            "font-weight: bold; font-size: 10pt; letter-spacing: 0.05em; } }\n"
        )
        banner = '<div class="internal-banner" role="note">INTERNAL — NOT FOR PUBLICATION</div>\n'
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n"
        f'<meta name="generator" content="fairness-audit">\n'
        f"<style>\n{_css()}\n{page_css}</style>\n</head>\n"
        f'<body class="mode-{mode} {html.escape(kind)}">\n{banner}<main>\n{body}\n</main>\n</body>\n</html>\n'
    )


@dataclass(frozen=True)
class RenderedPdf:
    """A PDF written by :func:`render_pdf`: its page count and anything sticking out of a page."""

    pages: int
    overflow: tuple[str, ...] = ()


def render_pdf(page: str, path: str | os.PathLike[str], *, base_url: str | None = None) -> RenderedPdf:
    """Write ``page`` (HTML) as an A4 PDF with WeasyPrint.

    Returns the page count and a description of every table, image or block
    that reaches past the right margin (it would be cut off when printed):
    none is expected.
    """
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    doc = HTML(string=page, base_url=base_url).render()
    doc.write_pdf(str(path))
    return RenderedPdf(len(doc.pages), tuple(_overflow(doc)))


PDF_SKIPPED = (
    "PDF skipped: WeasyPrint is not installed (or its system libraries are missing), so the report "
    "is HTML only; for the PDF: pip install 'fairness-audit[pdf]' (see https://doc.courtbouillon.org/"
    "weasyprint/stable/first_steps.html for the system libraries), or pass --no-pdf to silence this"
)


def pdf_available() -> bool:
    """Whether WeasyPrint can be imported (it needs Pango and friends as well as the package)."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):
        return False
    return True

def _overflow(doc: Any, tolerance: float = 1.0) -> list[str]:
    """Boxes whose right edge lies past the page's content area (WeasyPrint layout)."""
    found: list[str] = []
    try:
        for number, page in enumerate(doc.pages, 1):
            root = page._page_box
            right = root.content_box_x() + root.width
            stack = list(root.children)
            while stack:
                box = stack.pop()
                edge = box.position_x + box.margin_width() - (box.margin_right or 0)
                if edge > right + tolerance:
                    tag = getattr(box, "element_tag", None) or type(box).__name__
                    if tag in ("table", "img", "figure", "pre", "svg") or not found:
                        found.append(f"page {number}: <{tag}> {edge - right:.0f} pt past the margin")
                    continue  # its children are reported with it
                stack.extend(getattr(box, "children", []) or [])
    except AttributeError:  # a WeasyPrint whose layout tree differs: skip the check
        return []
    return found

