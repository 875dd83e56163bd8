"""Binomial GLMs of default (notice 四(九), 二(三)): every loan kept, standard errors clustered by borrower."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pucredit.estimators.glm import binomial_glm


def loans(n: int = 2_000, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"borrower_id": np.arange(n).astype(str), "is_first_loan": rng.integers(0, 2, n),
                          "guarantee": rng.choice(["credit", "collateral", "pledge"], n)})
    odds = 0.05 * np.where(frame["is_first_loan"] == 1, 2.0, 1.0)
    frame["defaulted"] = (rng.random(n) < odds / (1 + odds)).astype(int)
    return frame


FORMULAS = ["is_first_loan + C(guarantee)", "is_first_loan"]


def test_the_estimates_are_those_of_the_cells_and_the_loans_are_counted_one_by_one():
    data = loans()
    fit = binomial_glm(data, "defaulted", ["is_first_loan", "guarantee"], FORMULAS)
    assert fit.nobs == len(data) and fit.model.formula == "defaulted ~ is_first_loan + C(guarantee)"
    # with first loan alone the MLE is the sample log odds ratio: ln((d1/p1) / (d0/p0))
    first = binomial_glm(data, "defaulted", ["is_first_loan"], ["is_first_loan"])
    counts = data.groupby("is_first_loan")["defaulted"].agg(["sum", "size"])
    d, p = counts["sum"], counts["size"] - counts["sum"]
    assert first.params["is_first_loan"] == pytest.approx(np.log((d[1] / p[1]) / (d[0] / p[0])), abs=1e-8)


def test_standard_errors_are_clustered_by_borrower():
    # every loan twice under the same borrower carries no new information: the clustered standard error stays
    # that of the original loans (up to the small-sample factor (N−1)/(N−K): (3999/3997) / (1999/1997) − 1
    # = 0.05 % in variance), where an i.i.d. one would shrink by √2
    data = loans()
    once = binomial_glm(data, "defaulted", ["is_first_loan", "guarantee"], FORMULAS)
    twice = binomial_glm(pd.concat([data, data]), "defaulted", ["is_first_loan", "guarantee"], FORMULAS)
    np.testing.assert_allclose(twice.params, once.params, atol=1e-8)
    np.testing.assert_allclose(twice.bse, once.bse, rtol=1e-3)
    assert twice.cov_type == "cluster"


def test_a_separated_level_drops_its_factor_not_its_loans():
    data = loans()
    data.loc[data["guarantee"] == "pledge", "defaulted"] = 0  # no pledge loan defaults: an odds ratio of 0
    fit = binomial_glm(data, "defaulted", ["is_first_loan", "guarantee"], FORMULAS)
    assert fit.model.formula == "defaulted ~ is_first_loan"
    assert fit.nobs == len(data)
