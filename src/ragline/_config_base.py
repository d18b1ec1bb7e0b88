"""What every section of ``ragline.yaml`` is built on (:mod:`ragline.config`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, BeforeValidator, ConfigDict


def _yaml_off(v: Any) -> Any:
    """YAML reads an unquoted ``off`` as false: take it as the choice ``"off"``."""
    return "off" if v is False else v


_OffAsFalse = BeforeValidator(_yaml_off)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)
