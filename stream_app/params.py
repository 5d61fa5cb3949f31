"""Settings -> the domain's parameter objects, in one place."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from stream_app.domain.lead import Params
from stream_app.domain.learner import LearnerParams
from stream_app.domain.lifecycle import DEFAULT_LIFECYCLE
from stream_app.domain.risk import DEFAULT_RISK
from stream_app.domain.sms_window import WindowParams
from stream_app.settings import Settings


def lead_params(settings: Settings) -> Params:
    lifecycle = replace(
        DEFAULT_LIFECYCLE, inactive_after=timedelta(days=settings.inactive_after_days)
    )
    return Params(
        policy_version=settings.policy_version,
        ucb_c=settings.ucb_c,
        remembered_event_ids=settings.remembered_event_ids,
        extraction_deadline=timedelta(seconds=settings.extraction_deadline_s),
        lifecycle=lifecycle,
        risk=replace(DEFAULT_RISK, lifecycle=lifecycle),
        sms=WindowParams(
            quiet=timedelta(seconds=settings.sms_quiet_s),
            max_age=timedelta(seconds=settings.sms_max_age_s),
            max_messages=settings.sms_max_messages,
        ),
    )


def learner_params(settings: Settings) -> LearnerParams:
    return LearnerParams(alpha=settings.alpha, gamma=settings.gamma)
