"""Prometheus metrics of a bot, served on loopback only."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, start_http_server

READY = Gauge("connec_bot_ready", "1 when the bot has logged in and synced.", ["bot"])
SYNCS = Counter("connec_bot_syncs_total", "Sync batches handled.", ["bot"])
SYNC_ERRORS = Counter("connec_bot_sync_errors_total", "Failed syncs (Synapse down, ...).", ["bot"])
MESSAGES = Counter("connec_bot_messages_handled_total", "Messages acted on.", ["bot", "kind"])
SENT = Counter("connec_bot_messages_sent_total", "Messages the bot sent.", ["bot"])
LAST_SYNC = Gauge("connec_bot_last_sync_timestamp_seconds", "When the last sync ended.", ["bot"])


def serve_metrics(port: int, host: str = "127.0.0.1") -> None:
    """Expose /metrics; loopback by default, as everything connec starts."""
    if port:
        start_http_server(port, addr=host)
