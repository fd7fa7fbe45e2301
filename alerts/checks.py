"""System check: the alerts' look-back covers the wait for a change's classification.

An account change waits up to ``CLASSIFY_WAIT`` for the classification that follows it (one event
listing every reason). A detection run looks back ``WHALEFALL_ALERTS_LOOKBACK_MINUTES`` from its
watermark: shorter than the wait, a change still waiting when the watermark passes it would never
be seen again — its event silently lost.
"""

from __future__ import annotations

from django.conf import settings
from django.core import checks

from alerts.services.detect import CLASSIFY_WAIT


@checks.register()
def lookback_covers_the_classification_wait(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    lookback = settings.WHALEFALL["ALERTS_LOOKBACK_MINUTES"]
    wait = int(CLASSIFY_WAIT.total_seconds() // 60)
    if lookback > wait:
        return []
    return [checks.Error(
        f"WHALEFALL_ALERTS_LOOKBACK_MINUTES is {lookback}: it must be more than the {wait} minutes an account "
        "change waits for its classification, or such changes are never alerted.",
        hint=f"Set WHALEFALL_ALERTS_LOOKBACK_MINUTES above {wait} (the default is 60).", id="alerts.E001",
    )]  # fmt: skip
