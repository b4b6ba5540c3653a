"""VAPID keys (RFC 8292): the P-256 pair a server signs its Web Push requests with.

The private key is kept as base64url of its raw 32 bytes (what `pywebpush`/`py_vapid` and
`web-push generate-vapid-keys` use). Browsers get the public key, base64url of the 65-byte
uncompressed point, as `applicationServerKey`.

`python -m saekdam_backbone.notifications.vapid` prints a new pair.
"""

import base64

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)
from pydantic import SecretStr

_RAW_PRIVATE_BYTES = 32


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Accepts padded and unpadded base64url (and plain base64, which some clients send)."""
    cleaned = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    padded = cleaned + "=" * (-len(cleaned) % 4)
    return base64.b64decode(padded, altchars=b"-_", validate=True)


def generate_private_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return b64url_encode(key.private_numbers().private_value.to_bytes(_RAW_PRIVATE_BYTES, "big"))


def load_private_key(text: str) -> ec.EllipticCurvePrivateKey:
    """The key from base64url raw bytes (or a PEM); ValueError saying what is wrong."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("VAPID_PRIVATE_KEY has to be a P-256 (prime256v1) EC key")
        return key
    try:
        raw = b64url_decode(text)
    except ValueError as exc:
        raise ValueError("VAPID_PRIVATE_KEY has to be base64url but is not") from exc
    if len(raw) != _RAW_PRIVATE_BYTES:
        raise ValueError(
            f"VAPID_PRIVATE_KEY has to be {_RAW_PRIVATE_BYTES} raw bytes (base64url) "
            f"but is {len(raw)} bytes"
        )
    return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())


def configured_key(secret: SecretStr | None) -> str | None:
    """The VAPID_PRIVATE_KEY setting's text, or None when unset or empty (no push)."""
    text = secret.get_secret_value().strip() if secret is not None else ""
    return text or None


def public_key(private_key_text: str) -> str:
    """base64url of the uncompressed public point (65 bytes), for `GET /v1/push/key`."""
    point = (
        load_private_key(private_key_text)
        .public_key()
        .public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    )
    return b64url_encode(point)


def main() -> None:
    private = generate_private_key()
    print(f"VAPID_PRIVATE_KEY={private}")
    print(f"# public key (GET /v1/push/key serves it): {public_key(private)}")


if __name__ == "__main__":
    main()
