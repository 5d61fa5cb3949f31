"""Risk segment, urgency and the approval gate, rule by rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from stream_app.domain.actions import Action
from stream_app.domain.context import LeadContext
from stream_app.domain.extraction.model import AdditionalSignal, Level, Objection, Sentiment
from stream_app.domain.lifecycle import Status
from stream_app.domain.risk import (
    RiskParams,
    RiskSegment,
    Urgency,
    requires_approval,
    risk_segment,
    urgency,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
C, M, OK = RiskSegment.CRITICAL, RiskSegment.MODERATE, RiskSegment.ON_TRACK


def _ago(days: float) -> datetime:
    return NOW - days * DAY


@pytest.mark.parametrize(
    "status, fields, expected",
    [
        # engagement: > 14 days critical, 8-14 moderate, <= 7 on track
        (Status.INTERESTED, {"last_engagement_at": _ago(15)}, C),
        (Status.INTERESTED, {"last_engagement_at": _ago(14)}, M),
        (Status.INTERESTED, {"last_engagement_at": _ago(8)}, M),
        (Status.INTERESTED, {"last_engagement_at": _ago(7)}, OK),
        (Status.NEW, {"first_seen_at": _ago(20)}, C),
        (Status.NEW, {}, OK),
        # progress: attendance rate < 50 % critical, < 70 % moderate; status
        (Status.ACTIVE, {"attended_sessions": 4, "missed_sessions": 5}, C),
        (Status.ACTIVE, {"attended_sessions": 6, "missed_sessions": 4}, M),
        (Status.ACTIVE, {"attended_sessions": 7, "missed_sessions": 3}, OK),
        (Status.AT_RISK, {"attended_sessions": 9, "missed_sessions": 1}, M),
        (Status.INACTIVE, {}, C),
        # barriers: known barriers critical, minor moderate
        (Status.ACTIVE, {"payment_concern": True}, C),
        (Status.TRIAL, {"financial_concern": Level.MODERATE}, C),
        (Status.TRIAL, {"objections": (Objection(topic="x", severity=Level.HIGH),)}, C),
        (Status.TRIAL, {"signals": (AdditionalSignal(signal="job_loss", urgency=Level.HIGH),)}, C),
        (Status.TRIAL, {"financial_concern": Level.LOW}, M),
        (Status.TRIAL, {"objections": (Objection(topic="x", severity=Level.LOW),)}, M),
        # closed leads never land on an outreach worklist
        (Status.OPTED_OUT, {"last_engagement_at": _ago(90), "payment_concern": True}, OK),
    ],
)
def test_risk_segment(status: Status, fields: dict[str, Any], expected: RiskSegment) -> None:
    assert risk_segment(status, LeadContext(**fields), NOW) == expected


def test_risk_thresholds_are_parameters() -> None:
    ctx = LeadContext(last_engagement_at=_ago(4))
    params = RiskParams(engagement_moderate=3 * DAY, engagement_critical=7 * DAY)
    assert risk_segment(Status.CONTACTED, ctx, NOW, params) == M


@pytest.mark.parametrize(
    "status, fields, expected",
    [
        (Status.DECLINED, {}, Urgency.NONE),
        (Status.OPTED_OUT, {}, Urgency.NONE),
        (Status.AT_RISK, {"last_attendance_at": _ago(8)}, Urgency.D7),
        (Status.AT_RISK, {"last_attendance_at": _ago(20), "at_risk_since": _ago(2)}, Urgency.D30),
        (Status.INACTIVE, {}, Urgency.D90),
        (Status.ACTIVE, {}, Urgency.NONE),
        (Status.ACTIVE, {"consecutive_misses": 1}, Urgency.D30),
        (Status.ACTIVE, {"payment_concern": True}, Urgency.D30),
        (Status.ENROLLED, {}, Urgency.D30),
        (Status.ENROLLED, {"consecutive_misses": 1}, Urgency.D7),
        (Status.INTERESTED, {"last_engagement_at": _ago(1)}, Urgency.D90),
        (Status.INTERESTED, {"last_engagement_at": _ago(20)}, Urgency.D30),
        (Status.INTERESTED, {"last_engagement_at": _ago(40)}, Urgency.D7),
        (Status.CONTACTED, {"last_engagement_at": _ago(1), "consecutive_unreached": 3}, Urgency.D7),
        (
            Status.TRIAL,
            {
                "last_engagement_at": _ago(1),
                "recent_sentiments": (Sentiment.NEGATIVE, Sentiment.NEGATIVE),
            },
            Urgency.D7,
        ),
        (Status.NEW, {}, Urgency.D30),
    ],
)
def test_urgency(status: Status, fields: dict[str, Any], expected: Urgency) -> None:
    assert urgency(status, LeadContext(**fields), NOW) == expected


@pytest.mark.parametrize(
    "tier, action, expected",
    [
        ("standard", Action.WARM_FOLLOW_UP, False),
        (None, Action.GENTLE_NUDGE, False),
        ("premium", Action.WARM_FOLLOW_UP, True),
        ("platinum", Action.GENTLE_NUDGE, True),
        ("Platinum", Action.STOP, True),
        ("standard", Action.SCHOLARSHIP_OUTREACH, True),
        ("standard", Action.WIN_BACK_OFFER, True),
        ("standard", Action.FAMILY_ENGAGE, True),
        ("platinum", Action.WAIT, False),
    ],
)
def test_requires_approval(tier: str | None, action: Action, expected: bool) -> None:
    assert requires_approval(tier, action) == expected
