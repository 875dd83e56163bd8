"""Estimators on small frames, no DuckDB: the pass-through ECM, the all-in IRR, binomial GLMs on cells."""
