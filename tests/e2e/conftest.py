"""End-to-end tests execute notebooks and batches: all of them are marked slow (``make test-fast`` skips them)."""
import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.slow)
