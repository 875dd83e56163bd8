"""Binomial GLMs of default, standard errors clustered by borrower (notice 四(九), 二(三))."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

SEPARATION_LIMIT = 15.0  # |log odds| beyond this means a covariate level is perfectly separated


def binomial_glm(loans: pd.DataFrame, outcome: str, by: list[str], formulas: list[str], groups: str = "borrower_id"):
    """Logistic GLM of the 0/1 ``outcome`` on the right-hand sides ``formulas`` (in the columns ``by``), with
    standard errors clustered by ``groups`` (one borrower's loans are not independent draws).

    The formulas are tried in order on aggregated cells of ``by`` (exact for categorical covariates, and
    fast); the first whose fit converges without a perfectly separated level (a coefficient running off to
    infinity) is kept, so a factor is left out, never a loan. Its estimates start the loan-level fit that
    gives the clustered standard errors (a cell mixes borrowers, so it cannot carry them). ``fit.model.formula``
    says which formula was kept."""
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    cells = loans.groupby(by, as_index=False, dropna=False)[outcome].agg(defaults="sum", loans="size")
    cells["performing"] = cells["loans"] - cells["defaults"]
    with warnings.catch_warnings():  # separation is detected here and handled, not printed
        warnings.simplefilter("ignore")
        for rhs in formulas:
            start = smf.glm(f"defaults + performing ~ {rhs}", data=cells, family=sm.families.Binomial(),
                            missing="raise").fit()
            if start.converged and np.abs(start.params).max() < SEPARATION_LIMIT:
                break
        return smf.glm(f"{outcome} ~ {rhs}", data=loans, family=sm.families.Binomial(), missing="raise").fit(
            start_params=start.params.to_numpy(), cov_type="cluster",
            cov_kwds={"groups": pd.factorize(loans[groups])[0]})
