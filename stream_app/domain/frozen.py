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

from collections.abc import Callable, Mapping
from copy import deepcopy
from functools import partial
from typing import Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticUndefined

_new = object.__new__
_set_dict = object.__setattr__
# The slots every pydantic model has, set through their descriptors (half the cost
# of `object.__setattr__` by name).
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


class _Defaults:
    """What `_Record.model_construct` fills in for one model: its fields in declaration
    order with the defaults validation would share, and those it makes per record."""

    __slots__ = ("fresh", "required", "shared")

    def __init__(self, model: type[BaseModel]) -> None:
        self.shared: dict[str, Any] = {}
        self.fresh: list[tuple[str, Callable[[], Any]]] = []
        self.required: set[str] = set()
        for name, info in model.__pydantic_fields__.items():
            self.shared[name] = info.default
            if info.default_factory is not None:
                self.fresh.append((name, info.default_factory))  # type: ignore[arg-type]
            elif info.default is PydanticUndefined:
                self.required.add(name)
            elif not _hashable(info.default):
                # pydantic-core copies a default it cannot hash (a record holding a
                # dict), so no two records share it; a hashable one is shared.
                self.fresh.append((name, partial(deepcopy, info.default)))


_DEFAULTS: dict[type[BaseModel], _Defaults] = {}
"""Per model class, built on its first `model_construct`."""


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


class _Record(BaseModel):
    """A frozen record whose `model_copy` is the lead step's cheap way to change a field,
    and whose `model_construct` its cheap way to build one it produced itself."""

    @classmethod
    def model_construct(  # type: ignore[override]  # the pydantic plugin re-declares it
        cls, _fields_set: set[str] | None = None, **values: Any
    ) -> Self:
        """pydantic's `model_construct` (trusted values, not validated; defaults filled
        in) at a fraction of its cost, for values the lead step's own typed code made.

        Validating what the step itself built was the biggest single cost of the
        step (pydantic's `__init__`, ~12 records per decision), and pydantic's own
        `model_construct` is slower still (it walks every field's aliases in Python).
        The records here have no aliases, private attributes or extra fields, so a
        record is its `__dict__`: the fields in declaration order (the order its JSON
        is written in), the given values over the defaults. A value must already
        have the type validation would give it (an exact `str` for a `str` field,
        not a `StrEnum` member); a missing required field or an unknown one raises.
        """
        defaults = _DEFAULTS.get(cls) or _DEFAULTS.setdefault(cls, _Defaults(cls))
        fields = {**defaults.shared, **values}
        if len(fields) != len(defaults.shared) or not defaults.required <= values.keys():
            unknown = values.keys() - defaults.shared.keys()
            missing = defaults.required - values.keys()
            raise TypeError(f"{cls.__name__}: unknown {sorted(unknown)}, missing {sorted(missing)}")
        for name, make in defaults.fresh:
            if name not in values:
                fields[name] = make()
        new = _new(cls)
        _set_dict(new, "__dict__", fields)
        _set_fields_set(new, set(values) if _fields_set is None else _fields_set)
        _set_extra(new, None)
        _set_private(new, None)
        return new

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
