"""Project paths, resolved from the package location (never the working directory).

nbval starts kernels in the notebook's folder and papermill in the caller's, so
every path a notebook or command needs comes from here.
"""
from pathlib import Path

PROJ_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = PROJ_ROOT / "data"
REFERENCE_DIR = DATA_DIR / "reference"
DEMO_DIR = DATA_DIR / "demo"
PARAMETERS_DIR = PROJ_ROOT / "parameters"
POLICY_DIR = PARAMETERS_DIR / "policy"
BANKS_DIR = PARAMETERS_DIR / "banks"
NOTEBOOKS_DIR = PROJ_ROOT / "notebooks"
REPORTS_DIR = PROJ_ROOT / "reports"
