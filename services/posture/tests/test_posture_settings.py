import pytest
from pydantic import ValidationError

from saekdam_posture.settings import PostureSettings


def test_the_alert_policy_is_configured_from_the_environment(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", "s" * 32)
    monkeypatch.setenv("ALERT_ENTER_THRESHOLD", "0.6")
    monkeypatch.setenv("ALERT_EXIT_THRESHOLD", "0.4")
    monkeypatch.setenv("ALERT_PERSISTENCE_S", "5")
    monkeypatch.setenv("ALERT_MAX_LEVEL", "2")
    settings = PostureSettings()
    assert (settings.alert_enter_threshold, settings.alert_exit_threshold) == (0.6, 0.4)
    assert settings.alert_persistence_s == 5 and settings.alert_max_level == 2


def test_an_exit_threshold_above_the_enter_threshold_is_refused(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", "s" * 32)
    with pytest.raises(ValidationError, match="ALERT_EXIT_THRESHOLD"):
        PostureSettings(alert_enter_threshold=0.4, alert_exit_threshold=0.5)
