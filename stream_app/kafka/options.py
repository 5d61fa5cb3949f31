"""Connection options shared by every plain Kafka client the project opens."""

from __future__ import annotations

import ssl
from typing import Any

from stream_app.config.settings import Settings


def client_options(settings: Settings) -> dict[str, Any]:
    """aiokafka keyword arguments for bootstrap, TLS and SASL, from Settings only."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.kafka_security_protocol,
        "request_timeout_ms": int(settings.request_timeout_s * 1000),
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl.create_default_context(
            cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        )
    if settings.kafka_security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        password = settings.kafka_sasl_password
        options["sasl_plain_password"] = password.get_secret_value() if password else None
    return options
