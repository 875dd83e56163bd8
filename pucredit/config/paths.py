"""Project paths, resolved from the package location (never the working directory), and the one way
files are written so that a reader never sees half of one.

The files shipped with pucredit (policy years, the demo's bank files, reference data, the notebooks'
sources) are the checkout's top-level ``parameters/``, ``data/reference/`` and ``notebooks/``, or, in an
installed wheel, their copies in ``pucredit/_shipped/`` (setup.py). What pucredit writes goes where the user
says: the defaults ``reports/`` (and, for an installed package, ``data/demo/``) are relative to the current
directory. A user's own parameters folder ($PUCREDIT_PARAMETERS, else ``./parameters`` where the command
was started) comes before the shipped one: its policy years, bank files and branch tolerances override or
extend them (:func:`parameter_file`).

nbval starts kernels in the notebook's folder and papermill in the caller's, so
every path a notebook or command needs comes from here.
"""
import contextlib
import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]
INSTALLED = (_PACKAGE / "_shipped").is_dir()  # a built wheel; otherwise a source checkout
SHIPPED_ROOT = _PACKAGE / "_shipped" if INSTALLED else _PACKAGE.parent
PROJ_ROOT = SHIPPED_ROOT  # the checkout (or, installed, the shipped copy of its folders)
REFERENCE_DIR = SHIPPED_ROOT / "data" / "reference"
PARAMETERS_DIR = SHIPPED_ROOT / "parameters"  # the shipped parameters; see parameter_file for the user's
POLICY_DIR = PARAMETERS_DIR / "policy"
BANKS_DIR = PARAMETERS_DIR / "banks"  # the demo banks' files (and any bank kept in the checkout)
NOTEBOOKS_DIR = SHIPPED_ROOT / "notebooks"
DEMO_DIR = Path("data/demo") if INSTALLED else SHIPPED_ROOT / "data" / "demo"
REPORTS_DIR = Path("reports")  # relative: under the current directory
PARAMETERS_ENV = "PUCREDIT_PARAMETERS"


def user_parameters_dir() -> Path | None:
    """The user's parameters folder: $PUCREDIT_PARAMETERS (set by the command from ``./parameters`` when the
    user did not, so the notebooks' kernels, started elsewhere, see the same folder)."""
    given = os.environ.get(PARAMETERS_ENV)
    if given:
        return Path(given).resolve()
    here = Path("parameters").resolve()
    return here if here.is_dir() and here != PARAMETERS_DIR else None


def parameter_file(*parts: str) -> Path:
    """``parameters/<parts>`` from the user's folder if it holds the file, else the shipped one (which may
    not exist either: callers report a missing file with this path)."""
    user = user_parameters_dir()
    if user is not None and user.joinpath(*parts).is_file():
        return user.joinpath(*parts)
    return PARAMETERS_DIR.joinpath(*parts)


def parameter_names(folder: str, pattern: str) -> list[Path]:
    """Files of ``parameters/<folder>`` matching ``pattern``, the user's first; one per name."""
    found: dict[str, Path] = {}
    for root in (user_parameters_dir(), PARAMETERS_DIR):
        if root is not None:
            for path in sorted((root / folder).glob(pattern)):
                found.setdefault(path.name, path)
    return sorted(found.values(), key=lambda p: p.name)


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
