"""Hostile bank files (issue 13): ids that would name folders outside the report root, files that are
too big or expand (YAML bombs), and the contract's new keys; each refused fast, naming file and key."""
from __future__ import annotations

import time

import pytest

from pucredit.config.banks import MAX_BANK_FILE_BYTES, load_bank
from pucredit.contract.errors import InputError
from tests.conftest import write_csv
from tests.hostile.corpus import GOOD


@pytest.fixture
def bank_file(tmp_path):
    """bank_file(text) -> path of a bank file beside a good tape; ``text`` holds the keys after tape."""
    write_csv(tmp_path / "tape.csv", GOOD)

    def write(text: str, bank_id: str = '"T1"'):
        path = tmp_path / "bank.yaml"
        path.write_text(f'bank_id: {bank_id}\nname: "某银行"\ntape: "tape.csv"\n{text}', encoding="utf-8")
        return path
    return write


def refused(path, seconds: float = 2.0) -> InputError:
    started = time.monotonic()
    with pytest.raises(InputError) as info:
        load_bank(path)
    assert time.monotonic() - started < seconds
    assert all(p.file == str(path) for p in info.value.problems)
    assert len(str(info.value)) < 1_000  # never the whole structure
    return info.value


@pytest.mark.parametrize("bank_id", ["../../escaped", "/tmp/abs", "_peers", ".hidden", "a b", "a/b", "RB01\n",
                                     "B" * 65, "B" * 300, "Ｔ1", "北京01", '""'])
def test_unusable_bank_ids(bank_file, bank_id):
    error = refused(bank_file("", bank_id=bank_id if bank_id == '""' else repr(bank_id).replace("'", '"')))
    [problem] = error.problems
    assert (problem.rule, problem.column) == ("bank_key", "bank_id") and "64 characters" in problem.accepted


@pytest.mark.parametrize("bank_id", ["0102", "RB01", "city-bank_2", "-1", "B" * 64])
def test_usable_bank_ids(bank_file, bank_id):
    assert load_bank(bank_file("", bank_id=f'"{bank_id}"')).bank_id == bank_id


def billion_laughs(levels: int = 9) -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_yaml_bomb_in_an_extra_key(bank_file):
    assert refused(bank_file(billion_laughs())).problems[0].rule == "bank_yaml"


def test_yaml_bomb_in_the_name(tmp_path):
    path = tmp_path / "bank.yaml"
    path.write_text(billion_laughs() + 'bank_id: "T1"\ntape: "tape.csv"\nname: *l8\n', encoding="utf-8")
    assert "aliases" in refused(path).problems[0].message


def test_deep_nesting(bank_file):
    assert refused(bank_file("x: " + "[" * 20_000 + "]" * 20_000 + "\n")).problems[0].rule == "bank_yaml"


def test_file_over_the_size_limit(bank_file):
    error = refused(bank_file("# " + "x" * MAX_BANK_FILE_BYTES + "\n"), seconds=0.5)
    assert error.problems[0].rule == "bank_yaml" and "65,536" in error.problems[0].message


def test_huge_value_is_not_printed_whole(bank_file):
    error = refused(bank_file(f'name_2: "{"x" * 50_000}"\n'))
    assert error.problems[0].column == "name_2"


def test_tape_path_that_loops(bank_file, tmp_path):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    path = bank_file("").with_name("looping.yaml")
    path.write_text('bank_id: "T1"\nname: "x"\ntape: "loop"\n', encoding="utf-8")
    [problem] = refused(path).problems
    assert (problem.rule, problem.column) == ("bank_key", "tape")


def test_new_keys_are_read(bank_file):
    bank = load_bank(bank_file('category: "rural"\nnpl_target_ratio: 0.025\ntargets:\n'
                               '  inclusive_agri_growth_min_pct: 5.0\n  inclusive_smb_growth_min_pct: "none"\n'))
    assert (bank.category, bank.npl_target_ratio) == ("rural", 0.025)
    assert bank.targets == {"inclusive_agri_growth_min_pct": 5.0, "inclusive_smb_growth_min_pct": "none"}
    assert load_bank(bank_file("")).category is None


@pytest.mark.parametrize("text, column", [
    ('category: "village"\n', "category"),
    ("npl_target_ratio: 2.5\n", "npl_target_ratio"),
    ("npl_target_ratio: 0\n", "npl_target_ratio"),
    ('npl_target_ratio: "0.025"\n', "npl_target_ratio"),
    ("npl_target_ratio: .nan\n", "npl_target_ratio"),
    ("targets:\n  inclusive_agri_growth_min_pct: \"5\"\n", "targets"),
    ("targets:\n  inclusive_agri_growth_min_pct: .inf\n", "targets"),
    ("targets:\n  inclusive_agri_growth_min_pct: true\n", "targets"),
    ("targets:\n  agri_share: 5\n", "targets"),
    ("targets: [5]\n", "targets"),
])
def test_new_keys_are_checked(bank_file, text, column):
    [problem] = refused(bank_file(text)).problems
    assert (problem.rule, problem.column) == ("bank_key", column) and problem.accepted
