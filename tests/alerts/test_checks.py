"""The alerts' system check: a look-back shorter than a change's wait for its classification fails."""

from alerts.checks import lookback_covers_the_classification_wait


def test_a_lookback_shorter_than_the_classification_wait_is_an_error(settings):
    settings.WHALEFALL = {**settings.WHALEFALL, "ALERTS_LOOKBACK_MINUTES": 10}
    (error,) = lookback_covers_the_classification_wait()
    assert error.id == "alerts.E001" and "is 10" in error.msg and "15 minutes" in error.msg
    settings.WHALEFALL = {**settings.WHALEFALL, "ALERTS_LOOKBACK_MINUTES": 60}
    assert lookback_covers_the_classification_wait() == []
