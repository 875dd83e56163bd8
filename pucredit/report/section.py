"""What one section of a report shows: its finding first, then tables with captions and units, then figures.

A section function in :mod:`pucredit.report.sections` returns a :class:`Section`; a notebook cell is the
call (Jupyter displays the result). Text comes from the message catalogue in the report's language;
every value from a user's file is escaped where it is shown.
"""
from __future__ import annotations

import dataclasses
import functools
import html
from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class Table:
    """A table as a reader sees it: a caption that says what and in which unit, formatted cells, no index."""

    caption: str
    frame: pd.DataFrame  # already formatted for reading: labels from the catalogue, units in the headers
    note: str = ""  # e.g. why a cell is blank, or that only the largest rows are shown

    def to_html(self) -> str:
        body = self.frame.to_html(index=False, escape=True, na_rep="—", border=0, classes="pucredit-table")
        caption = f"<caption>{html.escape(self.caption)}</caption>"
        note = f'<p class="pucredit-note">{html.escape(self.note)}</p>' if self.note else ""
        return body.replace(">", ">" + caption, 1) + note  # the caption goes first inside <table>


@dataclass(frozen=True)
class Section:
    """A report section: a plain-language finding, then tables and figures (matplotlib) and short notes."""

    finding: str
    tables: tuple[Table, ...] = ()
    figures: tuple = ()  # matplotlib figures, each with a title and labelled axes
    notes: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)  # result objects a test or a later cell may read
    title: str = ""  # the section heading, from the catalogue in the report's language (a level-2 heading)

    def _ipython_display_(self) -> None:
        import matplotlib.pyplot as plt
        from IPython.display import HTML, Markdown, display

        if self.title:
            display(Markdown(f"## {escape_markdown(self.title)}"))
        display(Markdown(f"**{escape_markdown(self.finding)}**"))
        for table in self.tables:
            display(HTML(table.to_html()))
        for figure in self.figures:
            display(figure)
            plt.close(figure)
        for note in self.notes:
            display(Markdown(escape_markdown(note)))


def titled(key: str):
    """A section function's heading: the :class:`Section` it returns, whichever way, carries the catalogue
    text of ``key`` in the report's language as its title (the function's first argument is the report)."""
    def decorate(function):
        @functools.wraps(function)
        def section(r, *args, **kwargs) -> Section:
            return dataclasses.replace(function(r, *args, **kwargs), title=r.t(key))
        return section
    return decorate


_MARKDOWN_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_{}[]<>()#+-!|~"})


def escape_markdown(text: str) -> str:
    """Text safe to put in Markdown: no markup, links, HTML or table breaks from a user's values."""
    return html.escape(str(text), quote=False).translate(_MARKDOWN_SPECIAL)
