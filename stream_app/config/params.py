"""Settings -> the domain's parameter objects, in one place."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from stream_app.config.settings import Settings
from stream_app.domain.exploration import Exploration
from stream_app.domain.guard import GuardParams
from stream_app.domain.guardrails import ContactPolicy
from stream_app.domain.lead import Params
from stream_app.domain.learner import LearnerParams
from stream_app.domain.lifecycle import DEFAULT_LIFECYCLE
from stream_app.domain.risk import DEFAULT_RISK
from stream_app.domain.sms_window import WindowParams


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
        risk=replace(
            DEFAULT_RISK,
            lifecycle=lifecycle,
            engagement_critical=timedelta(days=settings.risk_critical_days),
            engagement_moderate=timedelta(days=settings.risk_moderate_days),
            attendance_critical=settings.risk_attendance_critical,
            attendance_moderate=settings.risk_attendance_moderate,
            goes_cold_after=timedelta(days=settings.lead_goes_cold_days),
            unreached_urgent=settings.unreached_urgent,
        ),
        exploration=Exploration.parse(settings.exploration),
        holdout_share=settings.holdout_share,
        prior_visits=settings.prior_visits,
        state_model=settings.state_model,
        contact=ContactPolicy(
            quiet_start=settings.quiet_hours_start,
            quiet_end=settings.quiet_hours_end,
            default_timezone=settings.default_timezone,
            cooldown=timedelta(hours=settings.contact_cooldown_h),
            voice_per_week=settings.cap_voice_week,
            sms_per_week=settings.cap_sms_week,
            email_per_week=settings.cap_email_week,
            suppress_after_rejections=settings.suppress_after_rejections,
            voice_per_hour=settings.voice_per_hour,
            partitions=settings.partitions,
        ),
        sms=WindowParams(
            quiet=timedelta(seconds=settings.sms_quiet_s),
            max_age=timedelta(seconds=settings.sms_max_age_s),
            max_messages=settings.sms_max_messages,
            keywords=settings.keyword_scan,
        ),
    )


def learner_params(settings: Settings) -> LearnerParams:
    return LearnerParams(
        alpha=settings.alpha, gamma=settings.gamma, prior_visits=settings.prior_visits
    )


def guard_params(settings: Settings) -> GuardParams:
    return GuardParams(
        min_leads=settings.guard_min_leads,
        alpha=settings.guard_alpha,
        mixing_sd=settings.guard_mixing_sd,
        greedy=settings.guard_greedy,
    )
