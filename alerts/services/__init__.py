"""Alert writes (services): detection (``detect.py``) and delivery (``deliver.py``),
re-exported here."""

from alerts.services.deliver import (
    ChannelOutcome,
    DeliverResult,
    alerts_deliver,
    alerts_digest,
    alerts_preview,
    alerts_run,
    alerts_send_test,
)
from alerts.services.detect import DetectResult, alerts_detect

__all__ = [
    "ChannelOutcome",
    "DeliverResult",
    "DetectResult",
    "alerts_deliver",
    "alerts_detect",
    "alerts_digest",
    "alerts_preview",
    "alerts_run",
    "alerts_send_test",
]
