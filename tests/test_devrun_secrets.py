"""`make run`'s generated secrets: made once, kept, and a newer one added to an old file."""

import stat

from infra import devrun
from saekdam_backbone.notifications import vapid


def test_secrets_are_made_once_with_a_vapid_key(tmp_path, monkeypatch):
    monkeypatch.setattr(devrun, "VAR", tmp_path)
    first = devrun.load_or_create_secrets()
    assert set(first) == {"JWT_SECRET", "STORAGE_SIGNING_SECRET", "VAPID_PRIVATE_KEY"}
    assert vapid.public_key(first["VAPID_PRIVATE_KEY"])
    assert devrun.load_or_create_secrets() == first
    assert stat.S_IMODE((tmp_path / "secrets.env").stat().st_mode) == 0o600


def test_a_secrets_file_from_before_push_gains_a_vapid_key_and_keeps_the_rest(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(devrun, "VAR", tmp_path)
    path = tmp_path / "secrets.env"
    path.touch(mode=0o600)
    path.write_text("JWT_SECRET=old-jwt\nSTORAGE_SIGNING_SECRET=old-signing")
    secrets = devrun.load_or_create_secrets()
    assert secrets["JWT_SECRET"] == "old-jwt"
    assert secrets["STORAGE_SIGNING_SECRET"] == "old-signing"
    assert devrun.load_or_create_secrets()["VAPID_PRIVATE_KEY"] == secrets["VAPID_PRIVATE_KEY"]
    assert path.read_text().splitlines()[:2] == [
        "JWT_SECRET=old-jwt",
        "STORAGE_SIGNING_SECRET=old-signing",
    ]
