"""Value types of the organization file that take no look-alike.

Pydantic's lax mode reads ``port: true`` as port 1, ``redacted_only: 1`` as true and
``timeout: "20"`` as 20 seconds; a YAML file mistyped that way would then mean something
its author never wrote. These types take only the YAML type they name (a whole number
may stand for seconds), and a name must hold more than white space.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, Strict
from pydantic_core import PydanticCustomError


def _named(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("org_value", "a name is required here (it is empty)")
    return value


Name = Annotated[str, Strict(), AfterValidator(_named)]
"""Text that names something (a group, a team, a server): not empty, not only spaces."""

Port = Annotated[int, Strict(), Field(ge=1, le=65535)]
"""A TCP port: a whole number 1-65535 (not ``true``, not ``"445"``, not ``445.0``)."""

Seconds = Annotated[float, Strict()]
"""A number of seconds (``3`` or ``2.5``; not ``true``, not ``"3"``)."""

Flag = Annotated[bool, Strict()]
"""``true`` or ``false`` (not ``1``, not ``"yes"``)."""

Whole = Annotated[int, Strict()]
"""A whole number (not ``true``, not ``"12"``)."""
