"""The front page of a report root, ROOT/index.html (pucredit.pipeline.index; docs/data-contract.md §17)."""
import json
import re
import shutil
from pathlib import Path

from pucredit.pipeline.index import write_index

GOLDEN = Path(__file__).with_name("golden")
HOSTILE = '<script>alert(1)</script>&"银行'


def _root(tmp_path: Path) -> Path:
    root = tmp_path / "reports"
    for bank_id in ("RB01", "LB01"):
        folder = root / bank_id / "2025H1"
        folder.mkdir(parents=True)
        shutil.copyfile(GOLDEN / f"{bank_id}_2025H1.json", folder / "metrics.json")
        for page in ("01_volume.html", "02_pricing.html"):
            (folder / page).write_text('<html lang="zh-Hans"><head><title>某农村商业银行（RB01） · 01 · 2025H1</title>',
                                       encoding="utf-8")
    bank_file = tmp_path / "RB01.yaml"
    bank_file.write_text(f"bank_id: \"RB01\"\nname: '{HOSTILE}'\ntape: tape.csv\nlang: en\n", encoding="utf-8")
    (tmp_path / "tape.csv").write_text("x\n", encoding="utf-8")
    manifest = {"period": "2025H1", "banks": [
        {"bank_id": "RB01", "bank_file": str(bank_file), "period": "2025H1", "status": "ok"},
        {"bank_id": "LB01", "bank_file": str(tmp_path / "gone.yaml"), "period": "2025H1", "status": "failed",
         "failed_notebook": "04_risk.ipynb", "failed_cell": 7, "error": "ValueError: <b>bad</b>\nmore"},
        {"bank_id": "X<9>", "bank_file": "x", "period": "2025H1", "status": "bad_input", "error": "no tape"},
        {"bank_id": "?", "bank_file": "y", "period": "2025H1", "status": "bad_input", "error": "unreadable"}]}
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (root / "_peers" / "2025H1").mkdir(parents=True)
    (root / "_peers" / "2025H1" / "peers.html").write_text("<html></html>", encoding="utf-8")
    return root


def _row(page: str, bank_id: str) -> str:
    return next(r for r in re.findall(r"<tr>.*?</tr>", page, re.S) if f"<small>{bank_id}</small>" in r
                or f"<td>{bank_id}</td>" in r)


def test_index_lists_every_bank_with_status_targets_and_links(tmp_path):
    root = _root(tmp_path)
    page = write_index(root).read_text(encoding="utf-8")
    assert not list(root.glob(".index.html.tmp"))  # written beside, then renamed
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;银行" in page
    rb01 = _row(page, "RB01")  # English bank file: its row in English
    assert 'href="RB01/2025H1/01_volume.html">01 Volume</a>' in rb01 and 'href="RB01/2025H1/02_pricing.html"' in rb01
    assert "missed (-2.64)" in rb01 and "met (+1.88)" in rb01 and "not binding" in rb01 and "done" in rb01
    lb01 = _row(page, "LB01")  # a failed re-run: the error, and the last good reports still linked
    assert "失败" in lb01 and "04_risk.ipynb 第7格：ValueError: &lt;b&gt;bad&lt;/b&gt;" in lb01 and "more" not in lb01
    assert "上次成功的报告" in lb01 and 'href="LB01/2025H1/01_volume.html">01 保量</a>' in lb01
    assert "某农村商业银行" in lb01  # the name from the page title when the bank file is gone
    bad = _row(page, "X&lt;9&gt;")
    assert "输入有误" in bad and "no tape" in bad and "href" not in bad
    assert "<td>?</td>" not in page
    assert 'href="_peers/2025H1/peers.html"' in page
    hrefs = re.findall(r'href="([^"]+)"', page)
    assert hrefs and all(not h.startswith(("/", "http", "..")) and (root / h).resolve().is_relative_to(root)
                         for h in hrefs)
    assert "普惠信贷报告目录 · Inclusive credit reports" in page  # both languages the banks use
    assert "@font-face" in page


def test_index_of_a_run_without_manifest(tmp_path):
    root = _root(tmp_path)
    (root / "manifest.json").unlink()
    shutil.rmtree(root / "_peers")
    page = write_index(root, [{"bank_id": "RB01", "period": "2025H1", "status": "ok"}]).read_text(encoding="utf-8")
    assert 'href="RB01/2025H1/01_volume.html"' in page and 'href="LB01/2025H1/01_volume.html"' in page
    assert "尚无本期同业比较报告" in page and '<html lang="zh-Hans">' in page


def test_a_users_own_index_html_is_never_replaced(tmp_path, capsys):
    """A report root that already holds someone else's index.html keeps it; pucredit's own is rebuilt."""
    own = tmp_path / "index.html"
    own.write_text("<html><body>my site</body></html>", encoding="utf-8")
    assert write_index(tmp_path) is None
    assert own.read_text(encoding="utf-8") == "<html><body>my site</body></html>"
    assert "not written by pucredit" in capsys.readouterr().err
    own.unlink()
    first = write_index(tmp_path).read_text(encoding="utf-8")
    assert '<meta name="generator" content="pucredit">' in first
    assert write_index(tmp_path) is not None  # its own page: replaced
