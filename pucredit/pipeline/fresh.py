"""Runs inside a warm kernel (pipeline.kernels): makes it, for the next notebook, what a fresh kernel is."""
from __future__ import annotations

_rc = None  # matplotlib's settings when the kernel started


def record() -> None:
    """At the kernel's start: note matplotlib's settings (after the import that sets the inline backend)."""
    global _rc
    import matplotlib
    import matplotlib.pyplot  # noqa: F401  (the inline backend adjusts the settings on this import)

    _rc = matplotlib.rcParams.copy()


def prepare(shell) -> None:
    """Before a notebook: figures closed, every name deleted, the cell counter at 1, matplotlib's settings back."""
    import gc

    import matplotlib
    import matplotlib.pyplot as plt

    plt.close("all")
    shell.reset(new_session=True)
    matplotlib.rcParams.update(_rc)
    gc.collect()
