"""The two bases for the domain's records: immutable values that travel and rest as JSON.

Both are frozen, so a state is changed only by building a new one (the agent writes
the new value back; Faust changelogs only reassignment). They differ in what an
unknown field means:

- `Frozen` (extra="forbid"): records validated at the door, above all the input
  events of the upstream contract. A typo in a producer's JSON is an error rather
  than silently dropped data.
- `Stored` (extra="ignore"): records that are read back, possibly by another
  release: `LeadState` and everything nested in it, including the output messages
  the state keeps a copy of (`NextBestAction`, `Reminder`).
  During a rolling update an older pod takes over partitions a newer one wrote, and
  a rollback makes every pod read what the newer release wrote: a field added by a
  newer release must not make the record unreadable. The older code drops the
  field, and its next write of the record no longer carries it.

A `Frozen` record nested in a stored one (an extraction's `Objection`, which also
travels on `extractions` and is validated from an LLM's reply, where an unknown key
is a drift to reject) keeps its strict base; the stored field drops the unknown keys
before validating it (`drop_unknown`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict

_new = object.__new__
_set_dict = object.__setattr__
# The slots every pydantic model has, set through their descriptors (half the cost
# of `object.__setattr__` by name).
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


class _Record(BaseModel):
    """A frozen record whose `model_copy` is the lead step's cheap way to change a field."""

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """pydantic's shallow copy with `update` (not validated, as pydantic's is not),
        in one step.

        The lead step builds every new state by copying, tens of times per event;
        pydantic's generic copy (`__copy__`, then the update, each through
        `copy.copy`) was a tenth of the step's time. Neither base has extra fields
        or private attributes, so the record is its `__dict__` and fields set.
        """
        if deep or self.__pydantic_extra__ or self.__pydantic_private__:
            return super().model_copy(update=update, deep=deep)
        new = _new(self.__class__)
        if update:
            _set_dict(new, "__dict__", {**self.__dict__, **update})
            _set_fields_set(new, self.__pydantic_fields_set__ | update.keys())
        else:
            _set_dict(new, "__dict__", self.__dict__.copy())
            _set_fields_set(new, self.__pydantic_fields_set__.copy())
        _set_extra(new, None)
        _set_private(new, None)
        return new


class Frozen(_Record):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Stored(_Record):
    model_config = ConfigDict(frozen=True, extra="ignore")


def drop_unknown(model: type[BaseModel]) -> BeforeValidator:
    """For a list of `model` items inside a `Stored` record: drop the keys `model` lacks.

    Only JSON objects are filtered (a `model` instance built in code passes as it is),
    and only at this level: `model` must not nest further models.
    """
    known = frozenset(
        name
        for key, info in model.model_fields.items()
        for name in (key, info.alias, info.validation_alias)
        if isinstance(name, str)
    )

    def strip(item: Any) -> Any:
        return {k: v for k, v in item.items() if k in known} if isinstance(item, dict) else item

    def drop(value: Any) -> Any:
        return [strip(i) for i in value] if isinstance(value, list | tuple) else value

    return BeforeValidator(drop)


__all__ = ["Frozen", "Stored", "drop_unknown"]
