"""What every HTML page of a report folder shares (docs/data-contract.md §17): one stylesheet (screen and A4
print), a navigation bar, the embedded CJK web font, text columns left-aligned and numbers right-aligned.

:func:`dress` takes the HTML nbconvert made and returns the page a reader gets. The font is a subset of the
Noto Sans CJK SC shipped in the mplfonts wheel (the one the charts use) holding exactly the characters the
page shows, embedded as a WOFF data URL, so a page reads the same offline on a machine without CJK fonts.
Subsetting the whole font (65,000 glyphs) takes about a second a page; a page whose characters are all in
:func:`base_characters` is cut from ``fonts/NotoSansCJKsc-Regular-base.otf`` (that font's glyphs for those
characters) in a quarter of that time, with the same bytes (tests/unit/test_pages.py);
``python tools/build_font_base.py`` rebuilds that file.
"""
from __future__ import annotations

import base64
import html
import io
import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

from pucredit.report.labels import label

CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"  # in the mplfonts wheel: the charts' font and the pages' web font
WEB_FONT = "pucredit-cjk"  # the family name of the embedded subset
BASE_FONT = Path(__file__).parent / "fonts" / "NotoSansCJKsc-Regular-base.otf"
FONT_STACK = (f'"{WEB_FONT}", system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, '
              '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif')

CSS = """
:root { --jp-content-font-family: %(stack)s; --jp-ui-font-family: %(stack)s; }
body { font-family: %(stack)s; }
/* the class twice: above the template's :not(.jp-RenderedMarkdown) rule that right-aligns every cell */
.jp-RenderedHTMLCommon.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon.jp-RenderedHTMLCommon th { text-align: left; vertical-align: top; }
.jp-RenderedHTMLCommon.jp-RenderedHTMLCommon td.num, .jp-RenderedHTMLCommon.jp-RenderedHTMLCommon th.num { text-align: right; font-variant-numeric: tabular-nums; }
.jp-RenderedHTMLCommon td.num, .jp-RenderedHTMLCommon td.code { white-space: nowrap; }
.jp-RenderedHTMLCommon table caption { caption-side: top; text-align: left; font-weight: 600; padding: 0.3em 0; }
.jp-RenderedHTMLCommon img, .jp-OutputArea-output img { max-width: 100%%; height: auto; }
.pucredit-note { color: #555; font-size: 0.9em; }
nav.pucredit-nav { position: sticky; top: 0; z-index: 10; background: #f6f7f9; border-bottom: 1px solid #d0d4da;
  padding: 0.45em 1em; font-size: 14px; line-height: 1.6; display: flex; flex-wrap: wrap; gap: 0.2em 1.1em; }
nav.pucredit-nav a { color: #1a5fb4; text-decoration: none; white-space: nowrap; }
nav.pucredit-nav a:hover { text-decoration: underline; }
nav.pucredit-nav [aria-current] { color: #222; font-weight: 600; white-space: nowrap; }
@page { size: A4; margin: 14mm 12mm 16mm 12mm; }
@media print {
  nav.pucredit-nav { display: none; }
  body, .jp-Notebook { margin: 0; padding: 0; font-size: 10pt; }
  .jp-Cell, .jp-OutputArea-output, .jp-RenderedHTMLCommon { padding: 0; overflow: visible !important; }
  .jp-RenderedHTMLCommon table, .jp-RenderedImage, .jp-OutputArea-output img, figure, tr { break-inside: avoid; }
  .jp-RenderedHTMLCommon table { font-size: 8.5pt; max-width: 100%%; }
  .jp-RenderedHTMLCommon.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon.jp-RenderedHTMLCommon th { padding: 0.25em 0.4em; overflow-wrap: break-word; }
  .jp-RenderedHTMLCommon h1, .jp-RenderedHTMLCommon h2, .jp-RenderedHTMLCommon h3 { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
}
""" % {"stack": FONT_STACK}

_FIGURE = r"[+\-−]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?"
_NUMBER = re.compile(rf"^{_FIGURE}\s*(%|％|pp|‰|个百分点|倍|x)?"
                     rf"(\s*[（(](第\d+|#\d+|{_FIGURE})[）)]|\s*\[{_FIGURE}, {_FIGURE}\])?$")  # a rank, p-value or CI after it
_BLANK = {"", "—", "-", "–"}
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/:]{1,19}$")  # a month, branch or county code: never broken
_TABLE = re.compile(r"<table\b.*?</table>", re.S | re.I)
_ROW = re.compile(r"<tr\b[^>]*>.*?</tr>", re.S | re.I)
_CELL = re.compile(r"<(td|th)\b([^>]*)>(.*?)</\1>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")


def is_number(text: str) -> bool:
    """A cell that reads as a number (1,234.5, -1.56%, +0.12 pp, 3.21（第1）): right-aligned. Five or more bare
    digits are a code (county 520502, branch 0102), as the reports group thousands in every count."""
    text = html.unescape(_TAG.sub("", text)).strip()
    return bool(_NUMBER.match(text)) and not re.fullmatch(r"\d{5,}|0\d+", text)


def align_numbers(page: str) -> str:
    """Mark the cells of number columns (every filled cell a number; headers included) with class ``num``;
    other columns stay left-aligned, and short codes (2025-01, RB01-520502-02) are marked ``code`` so that a
    narrow page never breaks them. A table with merged cells is marked cell by cell."""
    return _TABLE.sub(lambda m: _align_table(m.group(0)), page)


def _align_table(table: str) -> str:
    rows = [list(_CELL.finditer(row.group(0))) for row in _ROW.finditer(table)]
    merged = any(re.search(r"\b(colspan|rowspan)=", c.group(2)) for row in rows for c in row)
    numeric: set[int] = set()
    if not merged:
        body = [row for row in rows if any(c.group(1).lower() == "td" for c in row)]
        width = max((len(row) for row in body), default=0)
        for i in range(width):
            cells = [_TAG.sub("", row[i].group(3)).strip() for row in body if i < len(row) and row[i].group(1).lower() == "td"]
            filled = [c for c in cells if html.unescape(c) not in _BLANK]
            if filled and all(is_number(c) for c in filled):
                numeric.add(i)

    def mark(row: re.Match) -> str:
        index = iter(range(10_000))

        def cell(m: re.Match) -> str:
            i = next(index)
            number = (i in numeric) if not merged else (m.group(1).lower() == "td" and is_number(m.group(3)))
            kind = "num" if number else "code" if _CODE.match(_TAG.sub("", m.group(3)).strip()) else None
            if kind is None:
                return m.group(0)
            attrs = m.group(2)
            if re.search(r'\bclass="', attrs):
                attrs = re.sub(r'\bclass="', f'class="{kind} ', attrs, count=1)
            else:
                attrs += f' class="{kind}"'
            return f"<{m.group(1)}{attrs}>{m.group(3)}</{m.group(1)}>"

        return _CELL.sub(cell, row.group(0))

    return _ROW.sub(mark, table)


class _Text(HTMLParser):
    """The characters a reader sees: text nodes (not styles or scripts) and image alt text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.chars: set[str] = set()
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._skip += 1
        for name, value in attrs:
            if name in ("alt", "title", "aria-label") and value:
                self.chars.update(value)

    def handle_endtag(self, tag):
        if tag in ("style", "script") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.chars.update(data)


def visible_characters(page: str) -> set[str]:
    parser = _Text()
    parser.feed(page)
    return parser.chars


def font_path() -> Path:
    import mplfonts

    return Path(mplfonts.__file__).parent / "fonts" / CJK_FONT_FILE


@cache
def base_characters() -> frozenset[str]:
    """The characters of the base font: GB 2312 (6,763 hanzi and its symbols), Latin-1, general punctuation,
    letter-like symbols to technical signs (≤, −), CJK punctuation and the full-width forms."""
    chars = set()
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                chars.add(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    for start, end in ((0xA0, 0xFF), (0x2000, 0x206F), (0x2100, 0x23FF), (0x3000, 0x303F), (0xFF00, 0xFFEF)):
        chars.update(map(chr, range(start, end + 1)))
    return frozenset(chars)


def subset_font(source, chars: set[str], flavor: str | None, hinting: bool = False) -> bytes:
    """The glyphs of ``source`` (a path or file object) for ``chars`` as a font file of ``flavor``: no hinting,
    no layout tables (horizontal CJK needs none, and they would double the size and the time). WOFF2 would be
    about a tenth smaller but needs brotli. ``hinting`` True skips removing hints where none are left (the
    base font): a quarter faster, the same bytes."""
    from fontTools import subset

    options = subset.Options()
    options.flavor = flavor
    options.hinting = hinting
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "VORG", "vhea", "vmtx", "BASE"]
    font = subset.load_font(source, options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes={ord(c) for c in chars})
    subsetter.subset(font)
    out = io.BytesIO()
    subset.save_font(font, out, options)
    return out.getvalue()


@cache
def _base_font() -> bytes:
    return BASE_FONT.read_bytes()


def font_subset(chars: set[str]) -> bytes:
    """WOFF (zlib) of the Noto Sans CJK SC glyphs for ``chars`` beyond ASCII (Latin text and digits come from the
    reader's own sans-serif font): from the base font when it holds them all, else from the whole font."""
    chars = {c for c in chars if ord(c) > 0x7E}
    if chars <= base_characters():
        return subset_font(io.BytesIO(_base_font()), chars, "woff", hinting=True)
    return subset_font(str(font_path()), chars, "woff")


def font_face(page: str) -> str:
    """The @font-face rule embedding the subset for ``page``; empty when the page has no character beyond ASCII."""
    chars = {c for c in visible_characters(page) if ord(c) > 0x7E and not c.isspace()}
    if not chars:
        return ""
    data = base64.b64encode(font_subset(chars)).decode("ascii")
    return (f'@font-face {{ font-family: "{WEB_FONT}"; font-style: normal; font-weight: 100 900; '
            f'src: url(data:font/woff;base64,{data}) format("woff"); }}\n')


def nav_bar(lang: str, links: list[tuple[str, str | None]]) -> str:
    """The navigation bar: ``links`` are (text, relative href); href None marks the page itself."""
    items = [f'<span aria-current="page">{html.escape(text)}</span>' if href is None
             else f'<a href="{html.escape(href, quote=True)}">{html.escape(text)}</a>' for text, href in links]
    return f'<nav class="pucredit-nav" aria-label="{html.escape(label("page_nav", lang), quote=True)}">' + "".join(items) + "</nav>"


def dress(page: str, lang: str, nav: str = "") -> str:
    """The reader's page: the document language, the stylesheet and web font in the head, the navigation bar
    first in the body, number columns right-aligned."""
    page = re.sub(r"<html\b[^>]*>", f'<html lang="{"zh-Hans" if lang == "zh" else "en"}">', page, count=1)
    page = align_numbers(page)
    if nav:
        page = re.sub(r"(<body\b[^>]*>)", lambda m: m.group(1) + "\n" + nav, page, count=1)
    style = f"<style>\n{font_face(page)}{CSS}</style>\n"
    return page.replace("</head>", style + "</head>", 1)
