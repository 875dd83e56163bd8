"""A parameter papermill injects that the notebook does not declare is refused (README "Reports for many banks")."""
from types import SimpleNamespace

import IPython
import pytest

from pucredit.contract.errors import InputError
from pucredit.report.context import refuse_unknown_parameters

DECLARED = 'bank_file: str = "LB01"  # bank file\nperiod: str = "2025H1"\nlang = ""\n'


def _kernel(monkeypatch, history):
    shell = SimpleNamespace(user_ns={"In": ["", *history]})
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)


def test_misspelt_parameter_is_refused_naming_it_and_the_accepted_ones(monkeypatch):
    _kernel(monkeypatch, [DECLARED, '# Parameters\nbank_fil = "RB01"\nperiod = "2024"\n', "r = setup()"])
    with pytest.raises(InputError) as exc:
        refuse_unknown_parameters()
    assert str(exc.value.problems[0]) == ("notebook parameters:bank_fil: error: this notebook has no such parameter "
                                          "(misspelt?); accepted: bank_file, period, lang")
    assert len(exc.value.problems) == 1


@pytest.mark.parametrize("history", [
    [DECLARED, '# Parameters\nbank_file = "RB01"\nperiod = "2024"\n'],  # papermill, known names
    [DECLARED, "r = setup()"],  # JupyterLab or nbval: nothing injected
])
def test_known_or_no_parameters_pass(monkeypatch, history):
    _kernel(monkeypatch, history)
    refuse_unknown_parameters()


def test_outside_a_kernel_nothing_is_checked(monkeypatch):
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    refuse_unknown_parameters()
