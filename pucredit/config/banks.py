"""Bank files (parameters/banks/*.yaml, CONTRACT §2): where a bank's tape and totals are.

Relative paths are relative to the file. Unknown keys, a missing tape, or a
value of the wrong type is an error naming the file and the key. Codes such
as ``0102`` must be quoted: YAML would read an unquoted 0102 as a number.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from pucredit.contract.errors import InputError, Problem


class BankFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bank_id: str
    name: str
    tape: Path
    totals: Path | None = None
    policy: str | None = None
    lang: Literal["zh", "en"] = "zh"
    lpr: Path | None = None  # optional extra LPR fixings
    path: Path  # the YAML file itself

    @field_validator("bank_id", "name", "policy", mode="before")
    @classmethod
    def _text(cls, value):
        if value is not None and not isinstance(value, str):
            raise ValueError(f"must be quoted text (YAML read {value!r}; write it in quotes, e.g. \"0102\")")
        return value


def load_bank(path: str | Path) -> BankFile:
    """Read and check one bank file; paths come back absolute."""
    path = Path(path).resolve()
    if not path.is_file():
        raise InputError(Problem(file=str(path), rule="missing_file", message="no such bank file"))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(Problem(file=str(path), rule="bank_yaml", message=f"not valid YAML: {exc}")) from None
    if not isinstance(data, dict):
        raise InputError(Problem(file=str(path), rule="bank_yaml", message="expected keys such as bank_id, tape"))
    for key in ("tape", "totals", "lpr"):
        if isinstance(data.get(key), str):
            data[key] = (path.parent / data[key]).resolve()
    try:
        bank = BankFile.model_validate({**data, "path": path})
    except ValidationError as exc:
        raise InputError([Problem(file=str(path), rule="bank_key", column=".".join(map(str, e["loc"])),
                                  message=e["msg"], value=None if e["type"] == "missing" else str(e.get("input")),
                                  accepted="keys bank_id, name, tape, totals, policy, lang, lpr")
                          for e in exc.errors()]) from None
    for key in ("tape", "totals", "lpr"):
        target = getattr(bank, key)
        if target is not None and not target.is_file():
            raise InputError(Problem(file=str(path), rule="bank_key", column=key, value=str(target),
                                     message="file not found", accepted="a path relative to the bank file"))
    return bank
