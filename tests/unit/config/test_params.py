"""Settings reach the domain's parameter objects (the knobs users turn must work)."""

from __future__ import annotations

from datetime import time, timedelta

from stream_app.config.params import guard_params, lead_params, learner_params
from stream_app.config.settings import Settings
from stream_app.domain.guard import GuardParams


def test_settings_become_domain_parameters() -> None:
    settings = Settings(
        inactive_after_days=10,
        sms_quiet_s=60,
        sms_max_messages=3,
        quiet_hours_start=time(20, 0),
        contact_cooldown_h=12,
        cap_sms_week=2,
        voice_per_hour=10,
        partitions=4,
        risk_critical_days=21,
        exploration="epsilon:0.2",
        alpha=0.3,
        ucb_c=0.5,
    )
    params = lead_params(settings)
    assert params.lifecycle.inactive_after == timedelta(days=10)
    assert params.risk.lifecycle.inactive_after == timedelta(days=10)
    assert params.risk.engagement_critical == timedelta(days=21)
    assert (params.sms.quiet, params.sms.max_messages) == (timedelta(seconds=60), 3)
    assert params.contact.quiet_start == time(20, 0)
    assert params.contact.cooldown == timedelta(hours=12)
    assert params.contact.sms_per_week == 2
    assert params.contact.voice_per_partition == 3  # ceil(10 / 4)
    assert params.exploration.epsilon == 0.2
    assert params.ucb_c == 0.5
    assert learner_params(settings).alpha == 0.3


def test_guard_settings_become_the_guards_parameters() -> None:
    settings = Settings(
        guard_min_leads=50, guard_alpha=0.01, guard_mixing_sd=0.2, guard_greedy=False
    )
    assert guard_params(settings) == GuardParams(
        min_leads=50, alpha=0.01, mixing_sd=0.2, greedy=False
    )
