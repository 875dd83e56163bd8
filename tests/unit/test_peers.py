"""Peer comparison over many banks' metrics.json (pucredit peers): loading, targets, ranks, outliers,
anonymisation, the command, and the peer notebook's hygiene."""
from __future__ import annotations

import json
import re
import shutil

import nbformat
import pandas as pd
import pytest

from pucredit.analyses import peers
from pucredit.cli import main
from pucredit.contract.errors import InputError

PERIOD = "2025H1"


@pytest.fixture(scope="module")
def demo_root():
    """The demo banks' metrics.json for 2025H1, laid out as a report root."""
    root = peers.demo_root(PERIOD)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def metrics_of(root, bank_id) -> dict:
    return json.loads((root / bank_id / PERIOD / "metrics.json").read_text(encoding="utf-8"))


def test_load_reads_every_bank_and_its_numbers(demo_root):
    frame = peers.load(demo_root, PERIOD)
    assert frame.index.tolist() == ["CB01", "LB01", "RB01"]
    for bank_id in frame.index:
        m = metrics_of(demo_root, bank_id)
        assert frame.loc[bank_id, "inclusive_smb_new_spread_pp"] == pytest.approx(m["pricing"]["inclusive_smb_new_spread_pp"])
        assert frame.loc[bank_id, "first_loan_share"] == pytest.approx(m["first_loans"]["first_loan_share"])
        assert frame.loc[bank_id, "inclusive_smb_npl_headroom_pp"] == pytest.approx(m["risk"]["inclusive_smb_npl_headroom_pp"])


def test_targets_say_met_and_gap_as_the_metrics_do(demo_root):
    frame = peers.load(demo_root, PERIOD)
    table = peers.targets(frame).set_index(["bank_id", "target"])
    for bank_id in frame.index:
        v = metrics_of(demo_root, bank_id)["volume"]
        assert table.loc[(bank_id, "inclusive_smb"), "met"] == v["inclusive_smb_target_met"]
        assert table.loc[(bank_id, "inclusive_smb"), "gap_pp"] == pytest.approx(v["inclusive_smb_growth_gap_pp"])
        if v.get("key_county_growth") is not None:
            assert table.loc[(bank_id, "key_county"), "gap_pp"] == pytest.approx(
                (v["key_county_growth"] - v["total_loans_growth"]) * 100)
    # the city bank has no agri book: no target to meet, not a miss
    assert table.loc[("CB01", "inclusive_agri"), "met"] is None
    for bank_id in frame.index:  # both NPL tolerances (四(九)), each as its bank's metrics say
        k = metrics_of(demo_root, bank_id)["risk"]
        assert table.loc[(bank_id, "npl_tolerance"), "met"] == k["inclusive_smb_within_tolerance"]
        assert table.loc[(bank_id, "agri_npl_tolerance"), "met"] == k["inclusive_agri_within_tolerance"]


def test_rankings_put_the_cheapest_and_the_most_headroom_first():
    frame = pd.DataFrame({name: [1.0, 3.0, 2.0] for name in peers.MEASURES}, index=["X", "Y", "Z"])
    ranks = peers.rankings(frame)
    assert ranks["inclusive_smb_new_spread_pp"].tolist() == [1, 3, 2]  # lower is better
    assert ranks["inclusive_smb_npl_headroom_pp"].tolist() == [3, 1, 2]  # higher is better
    assert "total_npl_ratio" not in ranks  # no better direction: not ranked


def test_outliers_need_enough_banks_and_find_the_odd_one():
    values = [1.0, 1.1, 0.9, 1.05, 0.95, 1.0, 4.0]
    frame = pd.DataFrame({name: values for name in peers.MEASURES}, index=list("ABCDEFG"))
    found = peers.outliers(frame)
    assert set(found["bank_id"]) == {"G"}
    assert len(found) == len(peers.MEASURES)
    assert peers.outliers(frame.iloc[[0, 1, 6]]).empty  # three banks: nothing is judged


def test_anonymise_hides_ids_and_the_key_restores_them(demo_root):
    frame = peers.load(demo_root, PERIOD)
    hidden, key = peers.anonymise(frame, seed=5)
    assert sorted(hidden.index) == ["A", "B", "C"] and not set(hidden.index) & set(frame.index)
    back = hidden.rename(index=dict(zip(key["code"], key["bank_id"]))).sort_index()
    pd.testing.assert_series_equal(back["first_loan_share"], frame["first_loan_share"])
    assert "pucredit_version" not in hidden


def test_anonymise_keeps_the_letters_of_an_earlier_key(demo_root):
    frame = peers.load(demo_root, PERIOD)
    known = pd.DataFrame({"code": ["A", "C"], "bank_id": ["GONE", "LB01"]})  # GONE: a bank no longer reporting
    hidden, key = peers.anonymise(frame, seed=1, known=known)
    mapping = dict(zip(key["bank_id"], key["code"]))
    assert mapping["LB01"] == "C" and mapping["GONE"] == "A"  # kept, and A is not handed to another bank
    assert len(set(mapping.values())) == len(mapping) == 4
    assert sorted(hidden.index) == sorted(mapping[b] for b in frame.index)


def test_bad_root_and_bad_metrics_name_the_file(tmp_path, demo_root):
    with pytest.raises(InputError, match="no such report folder"):
        peers.load(tmp_path / "missing", PERIOD)
    with pytest.raises(InputError, match="no <bank_id>/2025H1/metrics.json"):
        peers.load(tmp_path, PERIOD)
    broken = tmp_path / "XX01" / PERIOD / "metrics.json"
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError) as err:
        peers.load(tmp_path, PERIOD)
    assert err.value.problems[0].file == str(broken)
    broken.unlink()
    shutil.copyfile(demo_root / "LB01" / PERIOD / "metrics.json", broken)  # LB01's metrics in a second folder
    shutil.copytree(demo_root / "LB01", tmp_path / "LB01")
    with pytest.raises(InputError) as err:
        peers.load(tmp_path, PERIOD)
    assert err.value.problems[0].rule == "duplicate_bank" and "LB01" in err.value.problems[0].message


def test_cli_peers_writes_an_anonymised_report(demo_root, tmp_path, capsys):
    out = tmp_path / "peers"
    assert main(["peers", str(demo_root), "--period", PERIOD, "--out", str(out), "--anonymise"]) == 0
    assert {p.name for p in out.iterdir()} == {"peers.ipynb", "peers.html", "peers.csv"}
    for name in ("peers.html", "peers.csv", "peers.ipynb"):
        assert not re.search(r"LB01|CB01|RB01", (out / name).read_text(encoding="utf-8-sig")), name
    key_file = peers.key_path(out)
    assert key_file.parent == tmp_path  # the key stays beside the folder that is circulated
    key = pd.read_csv(key_file, encoding="utf-8-sig")
    assert sorted(key["bank_id"]) == ["CB01", "LB01", "RB01"]
    executed = nbformat.read(out / "peers.ipynb", as_version=4)
    assert not [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    # run again after circulation: the same letters
    assert main(["peers", str(demo_root), "--period", PERIOD, "--out", str(out), "--anonymise"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(key_file, encoding="utf-8-sig"), key)


def test_cli_peers_never_replaces_a_folder_that_is_not_a_peer_report(demo_root, tmp_path, capsys):
    mine = tmp_path / "my_documents"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me", encoding="utf-8")
    assert main(["peers", str(demo_root), "--period", PERIOD, "--out", str(mine)]) == 2
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert "not replaced" in capsys.readouterr().err


def test_cli_peers_bad_input_exits_2(tmp_path, capsys):
    assert main(["peers", str(tmp_path), "--period", PERIOD]) == 2
    assert "metrics.json" in capsys.readouterr().err
    assert main(["peers", str(tmp_path), "--period", "2025H3"]) == 2


def test_peer_notebook_documents_its_parameters(tmp_path):
    import papermill

    from pucredit.pipeline.run import read_notebook

    nb = read_notebook(peers.PEERS_NOTEBOOK)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    nbformat.write(nb, tmp_path / "peers.ipynb")
    params = papermill.inspect_notebook(str(tmp_path / "peers.ipynb"))
    assert set(params) == set(peers.PeerParameters.model_fields) and all(p["help"] for p in params.values())


@pytest.mark.parametrize("params, column", [
    (dict(period=2025), "period"), (dict(period=PERIOD, lang="fr"), "lang"), (dict(period=PERIOD, anonymise="yes"), "anonymise"),
])
def test_peer_parameters_are_checked(params, column):
    with pytest.raises(InputError) as err:
        peers.check_parameters(**params)
    assert err.value.problems[0].column == column


def test_peers_show_bank_names_escaped_unless_anonymised(demo_root, tmp_path):
    import html

    from pucredit.report.sections import peers as sections

    root = tmp_path / "root"
    shutil.copytree(demo_root, root)
    hostile = '<b>$x$</b> "银行"'
    (root / "RB01" / PERIOD / "01_volume.html").write_text(
        f"<html lang=\"zh-Hans\"><head><title>{html.escape(hostile)}（RB01） · 01 · {PERIOD}</title>", encoding="utf-8")
    report = sections.setup(root=str(root), period=PERIOD, lang="zh")
    assert list(report.frame.index) == ["CB01", "LB01", f"{hostile}（RB01）"]  # names where known, ids otherwise
    assert list(report.frame["bank_id"]) == ["CB01", "LB01", "RB01"]
    table = sections.targets(report.frame, report.outcome, "zh").tables[0].to_html()
    assert html.escape(f"{hostile}（RB01）", quote=False) in table and "<b>" not in table
    assert sections._chart_text(hostile) == r'<b>\$x\$</b> "银行"'
    hidden = sections.setup(root=str(root), period=PERIOD, lang="zh", anonymise=True)
    assert sorted(hidden.frame.index) == ["A", "B", "C"] and "bank_id" not in hidden.frame
