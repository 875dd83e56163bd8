"""Chinese labels render offline (no missing-glyph warnings), and labels follow ``lang``."""
from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from pucredit.report import plotting  # noqa: E402
from pucredit.analyses import volume  # noqa: E402
from pucredit.report.labels import LABELS, label  # noqa: E402
from pucredit.report.pages import font_path  # noqa: E402


def test_chinese_text_renders_without_missing_glyphs(tmp_path):
    plotting.setup()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)" for tofu
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0.1, -0.2], label=label("inclusive_smb"))
        ax.set_title("普惠型小微企业贷款较年初增速 − 各项贷款（百分点）")
        ax.set_xlabel(" ".join(zh for zh, _ in LABELS.values()))
        plotting.percent_axis(ax)
        ax.legend()
        fig.savefig(tmp_path / "zh.png")
        plt.close(fig)
    assert (tmp_path / "zh.png").stat().st_size > 1000


def test_the_cjk_font_is_the_one_used():
    from matplotlib import font_manager

    plotting.setup()
    found = font_manager.findfont(font_manager.FontProperties(family=plt.rcParams["font.sans-serif"]))
    assert found == str(font_path())


def test_labels_exist_in_both_languages():
    for key, (zh, en) in LABELS.items():
        assert zh and en, key
        assert label(key, "en") == en and label(key, "zh") == zh


def test_findings_follow_lang():
    table = pd.DataFrame(
        {"growth_ytd": [0.05, 0.10], "gap_pp": [None, 5.0], "target_met": [None, True], "note": [None, None]},
        index=["total_loans", "inclusive_smb"])
    zh, en = volume.targets_finding(table, "zh"), volume.targets_finding(table, "en")
    assert "普惠型小微企业贷款较年初增长10.0%，高于各项贷款增速5.0个百分点，达到监管目标" in zh
    assert "不适用" in zh  # no agri row: not applicable, not an error
    assert "grew 10.0% year to date, 5.0 pp above all loans: it meets the target" in en
    assert "not applicable" in en
