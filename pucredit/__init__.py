"""pucredit: reproducible reports on a bank's inclusive credit (普惠信贷) against the NFRA notice."""
__version__ = "0.1.0"
