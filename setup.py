"""Build step of the wheel (README "Running at scale": installing the package). The repository keeps the
files users read and edit at its top level (parameters/, data/reference/, notebooks/); a built wheel carries
a copy of them as ``pucredit/_shipped/``, which pucredit.config.paths reads when there is no checkout. An
editable install reads the top-level folders themselves, so there is one copy in git."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = {"parameters": "**/*", "data/reference": "*", "notebooks": ("[0-9][0-9]_*.py", "peers.py", "jupytext.toml")}


class BuildWithShipped(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "pucredit" / "_shipped"
        for folder, patterns in SHIPPED.items():
            for pattern in (patterns,) if isinstance(patterns, str) else patterns:
                for source in sorted(Path(folder).glob(pattern)):
                    if source.is_file():
                        (target / source).parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(source, target / source)


setup(cmdclass={"build_py": BuildWithShipped})
