"""Nothing is written outside the report root (issue 13): the check every pipeline path goes through."""
from __future__ import annotations

import pytest

from pucredit.contract.errors import InputError
from pucredit.pipeline.folders import inside, working_folder


@pytest.mark.parametrize("relative", ["../../escaped/2025H1", "/etc/pucredit", "A/../../x", "link/2025H1"])
def test_paths_that_leave_the_root_are_refused(tmp_path, relative):
    root = tmp_path / "reports"
    root.mkdir()
    (root / "link").symlink_to(tmp_path)  # a symlink inside the root that points out of it
    with pytest.raises(InputError, match="outside the report root"):
        inside(root, root / relative)


def test_paths_inside_the_root_pass(tmp_path):
    assert inside(tmp_path, tmp_path / "B1" / "2025H1") == (tmp_path / "B1" / "2025H1").resolve()


def test_working_folders_name_their_owner(tmp_path):
    target = tmp_path / "B1" / "2025H1"
    assert working_folder(target, "staging", "host.1.2").name == ".2025H1.staging@host.1.2"
    assert working_folder(target, "context").parent == target.parent
