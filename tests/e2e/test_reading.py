"""What a supervisor reading the HTML reports would check (issue 14), on every demo bank's every report.

Each demo bank is run once through ``run_bank`` (each notebook executed once), in the language chosen for
it here, so both languages are read: LB01 and CB01 in English, RB01 in Chinese.

An English report may show Chinese only as a *quoted term*: a run of at most 12 CJK characters inside an
ASCII parenthesis "( … )" that opens right after English text (a Latin letter, digit or punctuation mark,
then one space), as in "inclusive small-micro loans (普惠型小微企业贷款)"; and the bank's own name from its
bank file. Anything else in Chinese is a label the catalogue failed to translate.
"""
from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

import pytest
import yaml

from pucredit.config.banks import load_bank
from pucredit.config.paths import BANKS_DIR
from pucredit.pipeline.run import report_notebooks, run_bank
from pucredit.report.labels import label

PERIOD = "2025H1"
LANGS = {"LB01": "en", "RB01": "zh", "CB01": "en"}
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]+")
MAX_QUOTED = 12
HEADER_KEYS = {"01_volume": "vol", "02_pricing": "pr", "03_first_loans": "fl", "04_risk": "risk",
               "05_quality": "qual", "06_service_report": "svc", "07_conduct": "cd"}  # the r.header(...) key of each notebook
MISSING = {"nan", "NaN", "None", "inf", "-inf", "NaT", "<NA>"}
RAW_CELL = re.compile(r"^[a-z]+(_[a-z0-9]+)+$|^(yoy|ytd|confirmed|quarter|True|False)$")
PATH = re.compile(r"(/(tmp|work|home|root|Users)/)|\b[\w-]+/[\w./-]+\.(csv|yaml|yml|parquet|json|py)\b")


def bank_file_in(lang: str, bank_id: str, folder: Path) -> Path:
    """A copy of the demo bank file in ``lang`` (paths made absolute, as the copy lives elsewhere)."""
    source = BANKS_DIR / f"{bank_id}.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    for key in ("tape", "totals", "lpr"):
        if data.get(key):
            data[key] = str((source.parent / data[key]).resolve())
    data["lang"] = lang
    path = folder / f"{bank_id}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> list[tuple[str, str, str, Path, str]]:
    """(bank id, bank name, language, report notebook, its HTML) for every demo bank and report."""
    from pucredit.synth import build_demo

    build_demo()
    base = tmp_path_factory.mktemp("reading")
    out = []
    for bank_id, lang in LANGS.items():
        bank_file = bank_file_in(lang, bank_id, base)
        result = run_bank(bank_file, PERIOD, base / "reports")
        assert result.status == "ok", result
        for notebook in report_notebooks():
            page = Path(result.report_dir) / f"{notebook.stem}.html"
            out.append((bank_id, load_bank(bank_file).name, lang, notebook, page.read_text(encoding="utf-8")))
    return out


def body_text(page: str) -> str:
    """What a reader sees of the page body: tags, styles and scripts removed, entities decoded."""
    body = page[page.find("<body"):]
    body = re.sub(r"<(style|script)\b.*?</\1>", " ", body, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", body))


def cells(page: str) -> list[str]:
    return [html_lib.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", page, flags=re.S)]


def unquoted_cjk(text: str) -> list[str]:
    """CJK runs of ``text`` that are not quoted terms (see the module docstring), with some context."""
    bad = []
    for match in CJK.finditer(text):
        depth, i = 0, match.start() - 1
        while i >= 0:  # the innermost ASCII parenthesis still open at the run
            depth += {")": 1, "(": -1}.get(text[i], 0)
            if depth < 0:
                break
            i -= 1
        opens_after_english = i >= 2 and text[i - 1] == " " and re.match(r"[A-Za-z0-9.,;:)]", text[i - 2])
        if i < 0 or not opens_after_english or len(match.group()) > MAX_QUOTED:
            bad.append(text[max(0, match.start() - 40):match.end() + 20])
    return bad


def test_every_demo_report_was_read(reports):
    assert len(reports) == len(LANGS) * len(report_notebooks())
    assert {lang for _, _, lang, _, _ in reports} == {"zh", "en"}


def test_no_missing_value_or_raw_code_in_any_cell(reports):
    for bank_id, _, _, notebook, page in reports:
        shown = cells(page)
        assert shown, (bank_id, notebook.name)
        assert not [c for c in shown if c in MISSING], (bank_id, notebook.name)
        assert not [c for c in shown if RAW_CELL.match(c)], (bank_id, notebook.name, [c for c in shown if RAW_CELL.match(c)])
        text = body_text(page)
        assert not re.search(r"\b(NaN|nan|NaT|inf)\b", text), (bank_id, notebook.name)


def test_no_regression_internals_or_file_paths(reports):
    for bank_id, _, _, notebook, page in reports:
        text = body_text(page)
        for internal in ("C(", "[T.", "Intercept", "is_first_loan", "lpr_change_pp"):
            assert internal not in text, (bank_id, notebook.name, internal)
        assert not PATH.search(text), (bank_id, notebook.name, PATH.search(text))


def test_no_pandas_default_index(reports):
    for bank_id, _, _, notebook, page in reports:
        assert not re.search(r"<tr[^>]*>\s*<th[^>]*>\s*0\s*</th>", page), (bank_id, notebook.name)


def test_pages_are_titled_and_figures_described(reports):
    for bank_id, name, _, notebook, page in reports:
        title = html_lib.unescape(re.search(r"<title>(.*?)</title>", page, re.S).group(1))
        assert name in title and bank_id in title and PERIOD in title and notebook.stem[:2] in title, title
        images = re.findall(r"<img\b[^>]*>", page)
        assert all(re.search(r'\balt="[^"]+"', tag) for tag in images), (bank_id, notebook.name)


def test_every_report_opens_with_its_title_and_each_section_with_its_heading_in_its_language(reports):
    for bank_id, _, lang, notebook, page in reports:
        headings = [html_lib.unescape(re.sub(r"<[^>]+>|¶", "", h)).strip()
                    for h in re.findall(r"<h[12][^>]*>(.*?)</h[12]>", page, re.S)]
        assert headings[0] == label(f"{HEADER_KEYS[notebook.stem]}_report_title", lang), (bank_id, headings)
        assert len(headings) > 3, (bank_id, notebook.name, headings)  # one per section


def test_page_title_is_the_report_title_in_its_language(reports):
    for bank_id, _, lang, notebook, page in reports:
        title = html_lib.unescape(re.search(r"<title>(.*?)</title>", page, re.S).group(1))
        assert label(f"{HEADER_KEYS[notebook.stem]}_report_title", lang) in title, title


def test_english_reports_have_chinese_only_in_quoted_terms(reports):
    for bank_id, name, lang, notebook, page in reports:
        if lang != "en":
            continue
        text = " ".join(body_text(page).replace(name, " ").split())
        assert not unquoted_cjk(text), (bank_id, notebook.name, unquoted_cjk(text)[:5])


def test_chinese_reports_have_chinese_headings(reports):
    for bank_id, _, lang, notebook, page in reports:
        if lang == "zh":
            headings = " ".join(re.findall(r"<h[1-3][^>]*>(.*?)</h[1-3]>", page, re.S))
            words = set(re.findall(r"[A-Za-z]{3,}", re.sub(r"<[^>]+>", " ", headings))) - {"LPR"}
            assert not words, (bank_id, notebook.name, words)


def test_the_quoted_term_rule():
    """The rule of the module docstring, on itself: quoted terms pass, a Chinese heading or sentence does not."""
    assert not unquoted_cjk("inclusive small-micro loans (普惠型小微企业贷款) grew")
    assert not unquoted_cjk("loans (普惠型小微企业贷款, 2,393 loans) were made")
    assert unquoted_cjk("## 1. 增速目标 · Growth targets") and unquoted_cjk("notice 二(一)")
    assert unquoted_cjk("a note (这是一整句没有翻译的中文说明文字而不是术语) here")
