"""In production mode every service refuses the example secrets, saying which and why."""

import os
import subprocess
import sys

import pytest
import yaml

from infra.processes import POSTURE_PYTHON, REPO, free_port

EXAMPLE_SECRETS = REPO / "k8s" / "secret.example.yaml"


def example_secrets() -> dict[str, str]:
    values: dict[str, str] = {}
    for document in yaml.safe_load_all(EXAMPLE_SECRETS.read_text()):
        values |= document["stringData"]
    return values


@pytest.mark.parametrize(
    ("module", "python"),
    [
        ("saekdam_api", sys.executable),
        ("saekdam_posture", POSTURE_PYTHON),
        ("saekdam_worker", sys.executable),
    ],
)
def test_each_service_refuses_to_start_on_the_example_secrets(module, python):
    env = {
        **os.environ,
        **example_secrets(),
        "ENVIRONMENT": "production",
        "STORAGE_BACKEND": "s3",
        "PORT": str(free_port()),
    }
    started = subprocess.run(
        [str(python), "-m", module], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert started.returncode != 0
    output = started.stdout + started.stderr
    assert "ENVIRONMENT=production refuses to start" in output, output[-2000:]
    assert "the password in DATABASE_URL is still the example value" in output
    if module != "saekdam_worker":  # the worker signs no tokens
        assert "JWT_SECRET is still the example value" in output


def test_production_takes_real_secrets_and_development_takes_anything(monkeypatch):
    from saekdam_api.settings import ApiSettings

    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("STORAGE_BACKEND", "local")
    monkeypatch.setenv("JWT_SECRET", "0123456789abcdef" * 2)
    monkeypatch.setenv("STORAGE_SIGNING_SECRET", "short")
    with pytest.raises(ValueError, match="STORAGE_SIGNING_SECRET is 5 characters"):
        ApiSettings()
    monkeypatch.setenv("STORAGE_SIGNING_SECRET", "fedcba9876543210" * 2)
    assert ApiSettings().environment == "production"
    monkeypatch.setenv("ENVIRONMENT", "development")
    monkeypatch.setenv("JWT_SECRET", "CHANGE-ME")
    assert ApiSettings().jwt_secret.get_secret_value() == "CHANGE-ME"
