"""The fast keyword scan, table by table against the urgent-keyword and opt-out lists."""

from __future__ import annotations

import pytest

from stream_app.domain.extraction.conversation import parse_transcript, sms_thread
from stream_app.domain.extraction.keywords import (
    is_opt_out,
    opt_out_in,
    urgent_keyword_family,
)


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        "Stop.",
        "STOP!!",
        "stop please",
        "Please stop",
        "STOPALL",
        "UNSUBSCRIBE",
        "cancel",
        "END",
        "quit",
        "Please unsubscribe me from these texts",
        "I already unsubscribed, why am I still getting these?",
        "remove me",
        "Please remove me from your list",
        "remove my number please",
        "take us off your list",
        "do not contact",
        "Do not contact me again.",
        "DON'T CONTACT US",
        "dont contact me",
        "don\u2019t contact me",
        "Don't call me again",
        "Please stop texting me",
        "stop calling us",
        "Stop messaging me",
        "I want to opt out",
        "opt-out",
        "How do I opt out of these?",
        "Hi. Please stop.",
        "Can you stop",
        "Stop, I'm not interested",
    ],
)
def test_opt_out_phrases(text: str) -> None:
    assert is_opt_out(text)


@pytest.mark.parametrize(
    "text",
    [
        "I stopped by the front desk yesterday",
        "He won't stop talking about it!",
        "Please don't stop sending updates",
        "my kids have been non-stop about the camp",
        "I do bookkeeping in the evenings",
        "Can I stop by on Saturday?",
        "The bus stop is right outside",
        "I don't want to unsubscribe, just fewer texts",
        "Don't remove me, I'm still interested",
        "Can we cancel Thursday and do Friday instead?",
        "We'd like to end the trial early and enroll",
        "Don't call me before 5, I'm at work",
        "sounds great",
        "",
    ],
)
def test_not_opt_out(text: str) -> None:
    assert not is_opt_out(text)


@pytest.mark.parametrize(
    "text, family",
    [
        # opt-out: stop, unsubscribe, remove me, do not contact
        ("stop", "opt_out"),
        ("unsubscribe", "opt_out"),
        ("please remove me", "opt_out"),
        ("do not contact us", "opt_out"),
        # sign-up: sign up, enroll, register, ready to start
        ("how do I sign up?", "sign_up"),
        ("want to sign him up", "sign_up"),
        ("sign-up link please", "sign_up"),
        ("we want to enroll", "sign_up"),
        ("just enrolled online", "sign_up"),
        ("can I register today", "sign_up"),
        ("registered!", "sign_up"),
        ("we're ready to start", "sign_up"),
        # scheduling: schedule, book, appointment, visit, tour
        ("can we schedule a trial", "scheduling"),
        ("need to reschedule", "scheduling"),
        ("book us for Friday", "scheduling"),
        ("booked it", "scheduling"),
        ("booking now", "scheduling"),
        ("I need an appointment", "scheduling"),
        ("can we visit", "scheduling"),
        ("could we get a tour", "scheduling"),
        ("toured last week", "scheduling"),
        # emergency: urgent, asap, immediately
        ("this is urgent", "emergency"),
        ("need a reply ASAP", "emergency"),
        ("call me back immediately", "emergency"),
        # look-alikes that must not match
        ("I do bookkeeping", None),
        ("saw you on Facebook", None),
        ("the tournament was fun", None),
        ("visitors welcome?", None),
        ("the registration fee", None),
        ("sounds good thanks", None),
        ("", None),
    ],
)
def test_urgent_keyword_family(text: str, family: str | None) -> None:
    assert urgent_keyword_family(text) == family


def test_opt_out_wins_over_other_families() -> None:
    assert urgent_keyword_family("stop texting me, I never asked to book anything") == "opt_out"


def test_sign_up_ranks_before_scheduling() -> None:
    assert urgent_keyword_family("ready to start, can we book Tuesday?") == "sign_up"


def test_agent_compliance_line_does_not_opt_the_family_out() -> None:
    conv = parse_transcript(
        "Agent: You can reply STOP to opt out anytime, or remove me from... sorry, go on.\n"
        "Parent: No, keep me posted please.",
        "voice",
    )
    assert not opt_out_in(conv)


def test_family_line_opts_out_on_a_transcript() -> None:
    conv = parse_transcript("Agent: Hi there.\nParent: Stop calling me.", "voice")
    assert opt_out_in(conv)


def test_bare_stop_in_a_thread_is_scanned_per_message() -> None:
    conv = sms_thread([("outbound", "Reply STOP to opt out"), ("inbound", "STOP")])
    assert opt_out_in(conv)
    assert not opt_out_in(sms_thread([("outbound", "Reply STOP to opt out"), ("inbound", "ok")]))
