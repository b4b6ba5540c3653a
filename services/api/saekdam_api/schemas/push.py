"""Request and response bodies of Web Push (protocol.md, "Additions (v1.1)", Web Push)."""

from pydantic import BaseModel, ConfigDict, Field

from . import Body


class PushKeyOut(BaseModel):
    public_key: str = Field(
        description="The VAPID public key (base64url, 65-byte uncompressed P-256 point): "
        "pass it to pushManager.subscribe() as applicationServerKey"
    )


class PushKeys(Body):
    p256dh: str = Field(
        min_length=1, max_length=256, description="base64url P-256 point (65 bytes)"
    )
    auth: str = Field(min_length=1, max_length=64, description="base64url auth secret (16 bytes)")


class PushSubscriptionIn(Body):
    """What `PushSubscription.toJSON()` gives in the browser, sent as it is."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "endpoint": "https://fcm.googleapis.com/fcm/send/dQw4w9WgXcQ:APA91b…",
                    "expirationTime": None,
                    "keys": {
                        "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u"
                        "-Ts1XbjhazAkj7I99e8QcYP7DkM",
                        "auth": "tBHItJI5svbpez7KI4CCXg",
                    },
                }
            ]
        },
    )

    endpoint: str = Field(max_length=2048, description="The push service URL (https)")
    keys: PushKeys
    expirationTime: float | None = Field(  # noqa: N815 - the browser's own name
        default=None, description="As the browser gives it; not used"
    )


class PushSubscriptionCreated(BaseModel):
    subscription_id: str
