"""Small statistical helpers shared by the analyses."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

SEPARATION_LIMIT = 15.0  # |log odds| beyond this means a covariate cell is perfectly separated


def glm_on_cells(cells: pd.DataFrame, formulas: list[str]):
    """Binomial GLM on aggregated cells (``defaults + performing ~ ...``): exact for categorical covariates
    and fast on large tapes. Tries the formulas in order and keeps the first whose fit converges without a
    perfectly separated cell (a coefficient running off to infinity); ``fit.model.formula`` says which."""
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    for formula in formulas:
        with warnings.catch_warnings():  # separation is detected here and handled, not printed
            warnings.simplefilter("ignore")
            fit = smf.glm(formula, data=cells, family=sm.families.Binomial()).fit()
        if fit.converged and np.abs(fit.params).max() < SEPARATION_LIMIT:
            return fit
    return fit
