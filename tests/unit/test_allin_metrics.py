from pucredit.analyses.pricing import allin_metrics
from pucredit.config.periods import parse_period
from pucredit.engine.tape import open_tape
from tests.conftest import write_csv

def test_a_fee_loan_without_an_irr_is_left_out_of_the_all_in_average(tmp_path):
    """All-in cost (二(二)): a fee-paying loan repaid the day it was lent has no IRR; it is left out of both
    the numerator and the weights, so the average is the other loans' (here: one loan at 4 %, no fees)."""
    rows = [dict(as_of="2024-06-30", loan_id="L1", borrower_id="B1", origination_date="2024-06-03",
                 maturity_date="2027-06-03", fee_bank_cny="0", fee_third_party_cny="0"),
            dict(as_of="2024-06-30", loan_id="L2", borrower_id="B2", origination_date="2024-06-30",
                 maturity_date="2024-06-30", rate_pct="9.0", fee_bank_cny="0", fee_third_party_cny="5000")]
    with open_tape(write_csv(tmp_path / "t.csv", rows)) as tape:
        assert tape.ok, [str(p) for p in tape.findings.errors]
        got = allin_metrics(tape.bank("T1"), parse_period("2024H1"))
    assert got["inclusive_smb_new_allin_rate_pct"] == 4.0 and got["inclusive_smb_allin_gap_pp"] == 0.0
    assert got["inclusive_smb_third_party_fee_share"] == 0.5
