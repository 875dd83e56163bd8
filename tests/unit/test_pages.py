"""The dressing of every HTML page (pucredit.report.pages): alignment, navigation, the embedded CJK font."""
import base64
import io
import re

from fontTools.ttLib import TTFont

from pucredit.pipeline.index import report_nav
from pucredit.report.pages import (BASE_FONT, align_numbers, base_characters, dress, font_face, font_path,
                                   font_subset, is_number, subset_font, visible_characters)

PAGE = """<!DOCTYPE html><html><head><title>某银行 · 01 保量 · 2025H1</title></head><body class="jp-Notebook">
<main><table class="dataframe"><thead><tr><th>业务类别</th><th>余额（亿元）</th><th>县域代码</th></tr></thead>
<tbody><tr><td>各项贷款</td><td>1,234.56</td><td>520502</td></tr><tr><td>普惠型小微企业贷款</td><td>—</td><td>330102</td></tr>
<tr><td>涉农贷款</td><td>-1.56%</td><td>330103</td></tr></tbody></table>
<img alt="图：县域存贷比" src="data:image/png;base64,AAAA"><style>.x{content:"樣"}</style></main></body></html>"""


def test_numbers_right_text_left():
    out = align_numbers(PAGE)
    assert '<th class="num">余额（亿元）</th>' in out and "<th>业务类别</th>" in out
    assert '<td class="num">1,234.56</td>' in out and '<td class="num">—</td>' in out
    assert "<td>各项贷款</td>" in out and "<td class=\"code\">520502</td>" in out  # text and codes stay left
    assert all(is_number(x) for x in ("3.95", "-1.56%", "+0.12", "1,234", "3.21（第1）", "2.5 pp"))
    assert not any(is_number(x) for x in ("2025-01", "RB01", "520502", "0102", "否", ""))


def test_merged_cells_are_marked_cell_by_cell():
    out = align_numbers('<table><tr><th colspan="2">a</th></tr><tr><td>x</td><td class="c">3.5</td></tr></table>')
    assert '<td class="num c">3.5</td>' in out and "<td>x</td>" in out


def test_nav_escapes_and_marks_the_current_page():
    nav = report_nav("zh", ["01_volume.html", "02_pricing.html"], "02_pricing.html", "../../index.html")
    assert '<a href="../../index.html">← 报告目录</a>' in nav
    assert '<a href="01_volume.html">01 保量</a>' in nav and '<span aria-current="page">02 稳价</span>' in nav
    en = report_nav("en", ['x"><script>.html'], None, None)
    assert "<script>" not in en and "&quot;&gt;&lt;script&gt;" in en


def test_dress_puts_language_style_font_and_nav_in_place():
    out = dress(PAGE, "zh", nav='<nav class="pucredit-nav">N</nav>')
    assert out.startswith('<!DOCTYPE html><html lang="zh-Hans">')
    assert re.search(r'<body class="jp-Notebook">\s*<nav class="pucredit-nav">N</nav>', out)
    head = out.split("</head>")[0]
    assert "@font-face" in head and "@page { size: A4" in head and "break-inside: avoid" in head
    assert re.search(r"@media print \{\s*nav.pucredit-nav \{ display: none; \}", head)


def _embedded_font(page: str) -> TTFont:
    data = re.search(r"url\(data:font/woff;base64,([A-Za-z0-9+/=]+)\)", page).group(1)
    return TTFont(io.BytesIO(base64.b64decode(data)))


def test_font_covers_exactly_the_page_characters():
    page = dress(PAGE, "zh")
    cmap = set(_embedded_font(page).getBestCmap())
    cjk = {c for c in visible_characters(page) if ord(c) > 0x7E and not c.isspace()}
    assert "县" in cjk and "樣" not in cjk  # alt text counts, a stylesheet does not
    assert {ord(c) for c in cjk} <= cmap
    assert cmap - {ord(c) for c in cjk} <= set(range(0x7F))  # nothing beyond what the page shows
    assert font_face("<html><body>ASCII only</body></html>") == ""


def test_the_shipped_base_font_holds_the_glyphs_of_exactly_the_base_characters():
    whole = TTFont(str(font_path()), lazy=True).getBestCmap()
    base = TTFont(str(BASE_FONT), lazy=True).getBestCmap()
    wanted = {ord(c) for c in base_characters()} & set(whole)
    assert set(base) == wanted  # else: python tools/build_font_base.py
    assert len(wanted) > 7_000 and {ord(c) for c in "普惠贷款·—−≤％（）"} <= wanted


def test_a_page_cut_from_the_base_font_equals_one_cut_from_the_whole_font():
    chars = {c for c in visible_characters(PAGE) if ord(c) > 0x7E} | set("不良容忍度尽职免责·—−≤")
    assert chars <= base_characters()
    assert font_subset(chars) == subset_font(str(font_path()), chars, "woff")


def test_a_character_beyond_the_base_comes_from_the_whole_font():
    chars = {"刘", "䶮"}  # CJK extension A, in personal names: not in GB 2312
    assert not chars <= base_characters()
    cmap = TTFont(io.BytesIO(font_subset(chars))).getBestCmap()
    assert {ord(c) for c in chars} <= set(cmap)


def test_a_figure_with_its_interval_or_p_value_is_a_number():
    assert all(is_number(x) for x in ("0.85 [0.79, 0.91]", "10.7 (0.000)", "-0.30 [-0.43, -0.16]"))
    assert not any(is_number(x) for x in ("70 / 12", "2, 1", "1.2 [a]"))
