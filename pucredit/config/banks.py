"""Bank files (parameters/banks/*.yaml, docs/data-contract.md §14): where a bank's tape and totals are.

Relative paths are relative to the file. Unknown keys, a missing tape, or a
value of the wrong type is an error naming the file and the key. Codes such
as ``0102`` must be quoted: YAML would read an unquoted 0102 as a number.
A bank file is user input (issue 13): it is refused, fast, when it is larger
than MAX_BANK_FILE_BYTES, nests deeper than MAX_DEPTH or uses YAML aliases
(which expand: a "billion laughs" bomb), and its bank_id must be usable as a
folder name.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pucredit.config.policy import BANK_CATEGORIES as CATEGORIES
from pucredit.contract.errors import InputError, Problem, brief
from pucredit.contract.schema import BANK_ID_ACCEPTED, BANK_ID_MAX_LENGTH, BANK_ID_PATTERN

MAX_BANK_FILE_BYTES = 64 << 10
MAX_DEPTH = 10  # levels of YAML nesting (a bank file needs two)
TARGET_KEY = re.compile(r"[a-z][a-z0-9_]*_growth_min_pct")
ACCEPTED = {"bank_id": BANK_ID_ACCEPTED, "category": ", ".join(CATEGORIES),
            "npl_target_ratio": "a fraction between 0 and 1, e.g. 0.025",
            "targets": '<segment>_growth_min_pct keys, each a number (percent a year) or "none"',
            "outlets": "a whole number >= 0 (inclusive-finance outlets, 普惠金融服务网点)"}


class BankFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bank_id: str
    name: str
    tape: Path
    totals: Path | None = None
    policy: str | None = None
    lang: Literal["zh", "en"] = "zh"
    lpr: Path | None = None  # optional extra LPR fixings
    category: Literal[CATEGORIES] | None = None  # which targets bind the bank (docs/data-contract.md §8)
    npl_target_ratio: Annotated[float, Field(strict=True, gt=0, lt=1, allow_inf_nan=False)] | None = None
    targets: dict[str, float | Literal["none"]] | None = None  # the local office's, over the policy file's
    # 六(十四) (issue 17): the bank's inclusive-finance outlets (普惠金融服务网点) at the period end, for the disclosure table
    outlets: Annotated[int, Field(strict=True, ge=0)] | None = None
    path: Path  # the YAML file itself

    @field_validator("bank_id", "name", "policy", mode="before")
    @classmethod
    def _text(cls, value):
        if value is not None and not isinstance(value, str):
            raise ValueError(f"must be quoted text (YAML read {brief(value)}; write it in quotes, e.g. \"0102\")")
        return value

    @field_validator("bank_id")
    @classmethod
    def _bank_id(cls, value: str) -> str:
        if len(value) > BANK_ID_MAX_LENGTH or not re.fullmatch(BANK_ID_PATTERN, value):
            raise ValueError("not a usable bank id (it names folders under the report root)")
        return value

    @field_validator("targets", mode="before")
    @classmethod
    def _targets(cls, value):
        if not isinstance(value, dict):
            return value  # pydantic says it is not a mapping
        for key, target in value.items():
            if not isinstance(key, str) or not TARGET_KEY.fullmatch(key):
                raise ValueError(f"target {brief(key)} is not a <segment>_growth_min_pct key")
            number = isinstance(target, (int, float)) and not isinstance(target, bool)
            if target != "none" and not (number and math.isfinite(target)):
                raise ValueError(f"target {key} must be a number (percent) or \"none\", not {brief(target)}")
        return value


class _BankLoader(yaml.SafeLoader):
    """YAML's safe loader without aliases (``*name``: a bank file has no use for them, and they expand
    exponentially, a "billion laughs" bomb) and with at most MAX_DEPTH levels of nesting."""

    depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not accepted in a bank file",
                                              self.peek_event().start_mark)
        if self.depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels",
                                              self.peek_event().start_mark)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _absolute(path: Path, file: Path, key: str) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # a symbolic-link loop, a NUL byte in the path
        raise InputError(Problem(file=str(file), rule="bank_key" if key else "missing_file", column=key or None,
                                 value=str(path), message=f"cannot resolve the path: {exc}",
                                 accepted="a path to an existing file")) from None


def load_bank(path: str | Path) -> BankFile:
    """Read and check one bank file; paths come back absolute."""
    path = _absolute(Path(path), Path(path), "")
    if not path.is_file():
        raise InputError(Problem(file=str(path), rule="missing_file", message="no such bank file"))
    if path.stat().st_size > MAX_BANK_FILE_BYTES:
        raise InputError(Problem(file=str(path), rule="bank_yaml", message=f"larger than {MAX_BANK_FILE_BYTES:,} bytes",
                                 accepted="a bank file of a few keys (see docs/data-contract.md §14)"))
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_BankLoader)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(Problem(file=str(path), rule="bank_yaml", message=f"not valid YAML: {exc}")) from None
    if not isinstance(data, dict):
        raise InputError(Problem(file=str(path), rule="bank_yaml", message="expected keys such as bank_id, tape"))
    for key in ("tape", "totals", "lpr"):
        if isinstance(data.get(key), str):
            data[key] = _absolute(path.parent / data[key], path, key)
    try:
        bank = BankFile.model_validate({**data, "path": path})
    except ValidationError as exc:
        keys = "keys " + ", ".join(k for k in BankFile.model_fields if k != "path")
        raise InputError([Problem(file=str(path), rule="bank_key", column=".".join(map(str, e["loc"])),
                                  message=e["msg"].removeprefix("Value error, "),
                                  value=None if e["type"] == "missing" else brief(e.get("input")),
                                  accepted=keys if e["type"] in ("missing", "extra_forbidden")
                                  else ACCEPTED.get(str(e["loc"][0]), keys))
                          for e in exc.errors()]) from None
    for key in ("tape", "totals", "lpr"):
        target = getattr(bank, key)
        if target is not None and not target.is_file():
            raise InputError(Problem(file=str(path), rule="bank_key", column=key, value=str(target),
                                     message="file not found", accepted="a path relative to the bank file"))
    return bank
