"""The data-quality (notice 五(十一)) and peer report sections on small hand-made banks: each finding states the
metrics document's numbers, tables have no blanks or codes, cut tables say so, in Chinese and English."""
from __future__ import annotations

import re

import pytest

from pucredit.analyses import peers, quality
from pucredit.report import context
from pucredit.report.labels import label
from pucredit.report.sections import peers as peer_sections
from pucredit.report.sections import quality as sections
from tests.conftest import write_csv
from tests.unit.test_metrics import ROWS

BRANCHES = 12
BAD = re.compile(r"\b(nan|NaN|None|inf|NaT)\b|<NA>")


def bank_with_branches(folder):
    """ROWS, each loan in its own branch, plus new first loans in 12 branches and a bad county code in each."""
    rows = [dict(row, branch_id=f"BR{i:02d}") for i, row in enumerate(ROWS)]
    rows += [dict(as_of="2024-06-30", loan_id=f"N{i}", borrower_id=f"NB{i}", branch_id=f"BR{i:02d}",
                  origination_date="2024-04-10", is_first_loan="true" if i % 2 else "false",
                  county_code="123" if i % 3 == 0 else "110101", rate_pct=4.0) for i in range(BRANCHES)]
    write_csv(folder / "tape.csv", rows)
    (folder / "T1.yaml").write_text('bank_id: "T1"\nname: "测试银行"\ntape: "tape.csv"\n', encoding="utf-8")
    return folder / "T1.yaml"


@pytest.fixture(scope="module")
def bank_file(tmp_path_factory):
    return bank_with_branches(tmp_path_factory.mktemp("quality"))


@pytest.fixture(scope="module")
def opened(bank_file):
    r = context.setup(str(bank_file), "2024H1")
    yield r
    r.close()


@pytest.fixture(params=["zh", "en"])
def report(request, opened):
    opened.lang = request.param  # one opened bank (and one metrics document) for both languages
    return opened


def clean(section) -> str:
    """Every text of a section, after checking its tables have no blank cells and no index."""
    texts = [section.finding, *section.notes]
    for table in section.tables:
        assert not table.frame.isna().any().any(), table.caption
        assert table.caption
        texts += [table.caption, table.note, table.to_html()]
    text = "\n".join(texts)
    assert not BAD.search(text), BAD.search(text)
    assert "/tmp" not in text and "tape.csv" not in text
    return text


def test_validation_states_the_documents_counts(report):
    counts = quality.rule_counts(report.bank, until=report.period.end)
    section = sections.validation(report, counts)
    q = report.doc.quality
    assert f"{q.tape_rows:,}" in section.finding and f"{q.errors}" in section.finding
    text = clean(section)
    assert "county_code_format" not in text and ("县域代码不是6位" in text or "county code not 6 digits" in text)


def test_branches_and_months_cut_to_ten_and_say_so(report):
    counts = quality.rule_counts(report.bank, until=report.period.end)
    section = sections.by_branch_and_month(report, counts)
    text = clean(section)
    assert len(section.figures) == 1
    branch_table = section.tables[-1]
    assert len(branch_table.frame) == sections.MAX_ROWS
    assert branch_table.note == label("qual_cut_branches", report.lang, shown=10, total=13)  # a branch per row


def test_series_checks_and_first_loan_flags(report):
    for section in (sections.threshold_bunching(report), sections.branch_breaks(report)):
        clean(section)
    flags = sections.first_loan_flags(report)
    clean(flags)
    assert flags.tables[0].note == label("qual_cut_branches", report.lang, shown=10, total=12)  # the new loans' branches


def test_audit_sample_names_no_folder(report, tmp_path):
    audit = quality.check_audit_parameters(audit_size=5, audit_seed=1, audit_dir=str(tmp_path), pseudonym_key_file="")
    section = sections.audit_sample(report, audit)
    text = clean(section)
    assert "_audit" in text and str(tmp_path) not in text
    assert list(tmp_path.glob("*.csv"))


@pytest.fixture(scope="module")
def peer_root(tmp_path_factory, opened):
    """Three banks' metrics.json: the small bank's, under three ids."""
    root = tmp_path_factory.mktemp("peers")
    for bank_id in ("T1", "T2", "T3"):
        opened.doc.model_copy(update={"bank_id": bank_id}).write(root / bank_id / "2024H1" / "metrics.json")
    return root


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_peer_sections(peer_root, lang, tmp_path):
    frame = peers.load(peer_root, "2024H1")
    outcome = peers.targets(frame)
    section = peer_sections.targets(frame, outcome, lang)
    text = clean(section)
    cells = section.tables[0].frame.iloc[:, 1:].to_numpy().ravel()
    words = {"zh": ("达标", "未达标", "不适用"), "en": ("met", "missed", "not applicable")}[lang]
    assert all(c.startswith(words) for c in cells)
    for row in outcome[outcome["met"].eq(False)].itertuples():
        assert f"{abs(row.gap_pp):.2f}" in section.finding
    assert "T1" in text
    for build in (peer_sections.pricing_and_headroom, peer_sections.distributions, peer_sections.provenance):
        clean(build(frame, lang))
    assert "peers.csv" in peer_sections.export(frame, None, str(tmp_path), lang).finding
