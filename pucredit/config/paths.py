"""Project paths, resolved from the package location (never the working directory), and the one way
files are written so that a reader never sees half of one.

nbval starts kernels in the notebook's folder and papermill in the caller's, so
every path a notebook or command needs comes from here.
"""
import contextlib
from pathlib import Path

PROJ_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = PROJ_ROOT / "data"
REFERENCE_DIR = DATA_DIR / "reference"
DEMO_DIR = DATA_DIR / "demo"
PARAMETERS_DIR = PROJ_ROOT / "parameters"
POLICY_DIR = PARAMETERS_DIR / "policy"
BANKS_DIR = PARAMETERS_DIR / "banks"
NOTEBOOKS_DIR = PROJ_ROOT / "notebooks"
REPORTS_DIR = PROJ_ROOT / "reports"


def write_text_atomic(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place; the temporary file is
    removed when either step fails (the previous ``path``, if any, is left as it was)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding=encoding)
        tmp.replace(path)
    except BaseException:  # a full disk, a read-only folder, an interrupt: no half-written file stays behind
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    return path
