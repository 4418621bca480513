"""Prometheus metrics of a bot, served on loopback only."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

READY = Gauge("connec_bot_ready", "1 when the bot has logged in and synced.", ["bot"])
SYNCS = Counter("connec_bot_syncs_total", "Sync batches handled.", ["bot"])
SYNC_ERRORS = Counter("connec_bot_sync_errors_total", "Failed syncs (Synapse down, ...).", ["bot"])
MESSAGES = Counter("connec_bot_messages_handled_total", "Messages acted on.", ["bot", "kind"])
SENT = Counter("connec_bot_messages_sent_total", "Messages the bot sent.", ["bot"])
OUTBOX_WAITED = Histogram(
    "connec_bot_outbox_wait_seconds",
    "From a message being written to its being sent (long: its reader had no device yet).",
    ["bot"],
    buckets=(0.1, 0.5, 1, 5, 30, 300, 3600, 86400, 604800),
)
LAST_SYNC = Gauge("connec_bot_last_sync_timestamp_seconds", "When the last sync ended.", ["bot"])


def serve_metrics(port: int, host: str = "127.0.0.1") -> None:
    """Expose /metrics; loopback by default, as everything connec starts."""
    if port:
        start_http_server(port, addr=host)
