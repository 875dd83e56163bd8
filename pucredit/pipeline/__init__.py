"""Running reports: one bank's notebooks, many banks in a batch, the demo."""
