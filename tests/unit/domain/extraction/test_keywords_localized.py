"""Opt-out and urgent keywords in English and Spanish, configured, and under hostile input.

Opt-out is a compliance rule: these tests pin both shipped languages, the ways a
keyword must not count (inside another word, quoted, negated), and that the
languages and extra phrases are configuration, not code.
"""

from __future__ import annotations

import pytest

from stream_app.domain.extraction.conversation import sms_thread
from stream_app.domain.extraction.keywords import (
    DEFAULT_KEYWORDS,
    is_opt_out,
    keywords,
    opt_out_in,
    urgent_keyword_family,
)

ENGLISH_ONLY = keywords(("en",))


@pytest.mark.parametrize(
    "text",
    [
        "ALTO",
        "alto.",
        "Basta!",
        "¡Basta ya!",
        "BAJA",
        "cancelar",
        "no más",
        "Por favor no me llamen más",
        "no me escriban mas",
        "No nos contacten nunca",
        "Dejen de llamarme por favor",
        "deja de mandarme mensajes",
        "Quiero darme de baja",
        "denme de baja de esta lista",
        "Quítenme de su lista",
        "saquenme de la lista por favor",
        "borren mi número",
        "ya no me manden nada",
        "No quiero que me contacten",
        "no quiero recibir más mensajes",
        "Hola. Basta.",
        "No llamen a este número",
    ],
)
def test_spanish_opt_outs(text: str) -> None:
    assert is_opt_out(text)
    assert not is_opt_out(text, ENGLISH_ONLY)  # Spanish is a language setting, not a given


@pytest.mark.parametrize(
    "text",
    [
        # inside another word
        "Compramos un paraguas nuevo",
        "Vivimos en la calle Alton",
        "Hay que bajar al gimnasio",
        "the stopwatch is broken",
        "I love your nonstop energy",
        # a keyword used in its ordinary sense, inside a sentence
        "Es para mi hijo de 7 años",
        "La clase de las 5 es muy alta para él",
        "the class ends at 5 and we cancel nothing",
        # quoted: a family repeating our own line or someone else's words
        'Your text said "reply STOP to opt out", what is this?',
        "It said 'reply STOP to unsubscribe' lol",
        "my son keeps yelling 'stop it' at his sister",
        "El mensaje decía \u201cresponda ALTO para cancelar\u201d, ¿qué es?",
        # negated
        "Don't unsubscribe me, I still want the updates",
        "please don't take us off your list",
        "No me den de baja, sí queremos la información",
        "no dejen de llamarme, me interesa",
        "never opted out, why did the texts stop?",
    ],
)
def test_hostile_non_opt_outs(text: str) -> None:
    assert not is_opt_out(text)


def test_only_the_familys_turns_count_in_both_languages() -> None:
    agent_line = "Responda ALTO para cancelar / Reply STOP to opt out"
    assert not opt_out_in(sms_thread([("outbound", agent_line), ("inbound", "gracias!")]))
    assert opt_out_in(sms_thread([("outbound", agent_line), ("inbound", "ALTO")]))


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("quiero inscribirla en la clase", "sign_up"),
        ("¿Podemos agendar una cita?", "scheduling"),
        ("queremos reservar para el sábado", "scheduling"),
        ("es urgente, llámenme lo antes posible", "emergency"),
        ("Dejen de escribirme", "opt_out"),
        ("Can we book Saturday?", "scheduling"),
        ("el torneo fue genial", None),  # "tour" never inside another word
        ("gracias por la información", None),
    ],
)
def test_spanish_urgent_keywords(text: str, family: str | None) -> None:
    assert urgent_keyword_family(text) == family


def test_languages_are_configuration() -> None:
    assert DEFAULT_KEYWORDS.languages == ("en", "es")
    assert is_opt_out("Dejen de llamarme")
    assert not is_opt_out("Dejen de llamarme", ENGLISH_ONLY)
    assert is_opt_out("STOP", keywords(("es",))) is False  # a Spanish-only deployment
    with pytest.raises(ValueError, match="unknown keyword languages"):
        keywords(("en", "fr"))
    with pytest.raises(ValueError):
        keywords(())


def test_extra_phrases_are_whole_words_and_negatable() -> None:
    kw = keywords(("en",), ("leave me alone", "no more texts"))
    assert is_opt_out("Please just leave me alone.", kw)
    assert is_opt_out("NO MORE TEXTS", kw)
    assert not is_opt_out("I never said leave me alone", kw)
    assert not is_opt_out("Please just leave me alone.")  # not shipped: only when configured


@pytest.mark.parametrize(
    "text",
    ["Please do not call this number again.", "don't text my phone", "lose my number"],
)
def test_english_opt_outs_about_the_number(text: str) -> None:
    assert is_opt_out(text)


def test_asking_which_number_to_call_is_not_an_opt_out() -> None:
    assert not is_opt_out("Which number do I call to book?")
    assert not is_opt_out("Don't call this number before 5, I'm at work")  # scoped, not a stop
