"""What a production deployment refuses as a secret: missing, short, or an example value.

`ENVIRONMENT=production` (compose and the k8s manifests set it) turns these checks on in
every service's settings (`BackboneSettings`); `make run` and the tests stay in development,
where a secret may be generated on the fly. The values checked are the settings' secret
fields and the passwords inside DATABASE_URL and REDIS_URL.
"""

from urllib.parse import urlsplit

MIN_SECRET_CHARS = 32
# Words that mark a value as copied from an example file (k8s/secret.example.yaml,
# infra/compose.env.example, the README).
EXAMPLE_MARKERS = ("change-me", "changeme", "change_me", "example", "placeholder", "replace-me",
                   "your-secret", "secret-here", "xxxxxxxx")  # fmt: skip


def looks_like_example(value: str) -> bool:
    lowered = value.lower()
    return any(marker in lowered for marker in EXAMPLE_MARKERS)


def secret_problem(name: str, value: str | None, *, required: bool, min_chars: int) -> str | None:
    """Why `value` will not do as the secret `name`, or None."""
    if not value:
        return f"{name} is not set" if required else None
    if looks_like_example(value):
        return f"{name} is still the example value"
    if len(value) < min_chars:
        return f"{name} is {len(value)} characters; it needs at least {min_chars}"
    return None


def url_password_problem(name: str, url: str) -> str | None:
    """An example password inside a connection URL (postgresql://user:CHANGE-ME@host/db)."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return None
    if password and looks_like_example(password):
        return f"the password in {name} is still the example value"
    return None


def refuse_message(problems: list[str]) -> str:
    return (
        "ENVIRONMENT=production refuses to start: "
        + "; ".join(problems)
        + ". Make secrets with `openssl rand -hex 32` (VAPID_PRIVATE_KEY: `python -m "
        "saekdam_backbone.notifications.vapid`) and keep them out of the repository."
    )
