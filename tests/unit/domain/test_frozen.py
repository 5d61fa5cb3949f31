"""The bases' own `model_copy` must be pydantic's, only cheaper."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ValidationError

from stream_app.domain.frozen import Frozen, Stored
from stream_app.domain.lead import LeadState
from stream_app.domain.lifecycle import Status


class Inner(Frozen):
    n: int = 0


class Record(Stored):
    name: str
    inner: Inner = Inner()
    tags: tuple[str, ...] = ()
    at: datetime | None = None


@pytest.mark.parametrize(
    "update",
    [None, {}, {"name": "b"}, {"tags": ("x", "y"), "at": datetime(2026, 1, 1, tzinfo=UTC)}],
)
def test_copy_is_pydantics(update: dict[str, object] | None) -> None:
    record = Record(name="a", tags=("t",))
    ours = record.model_copy(update=update)
    theirs = BaseModel.model_copy(record, update=update)
    assert ours == theirs
    assert ours.__dict__ == theirs.__dict__
    assert ours.model_fields_set == theirs.model_fields_set
    assert ours.model_dump_json() == theirs.model_dump_json()


def test_copy_leaves_the_original_and_stays_frozen() -> None:
    record = Record(name="a")
    copied = record.model_copy(update={"name": "b"})
    assert (record.name, copied.name) == ("a", "b")
    assert copied.model_fields_set == {"name"}  # what was set, as pydantic counts it
    with pytest.raises(ValidationError):
        copied.name = "c"  # type: ignore[misc]


def test_deep_copy_copies_nested_records() -> None:
    record = Record(name="a")
    assert record.model_copy(deep=True).inner is not record.inner
    assert record.model_copy().inner is record.inner


def test_lead_state_copy_round_trips() -> None:
    lead = LeadState(lead_id="L1")
    moved = lead.model_copy(update={"status": Status.CONTACTED})
    assert LeadState.model_validate_json(moved.model_dump_json()) == moved
    assert lead.status == Status.NEW
