"""The input contract (docs/data-contract.md §1-§2): columns, reading any accepted format, validation, errors."""
