"""Request and response bodies of webhooks (protocol.md, "Additions (v1.1)", Webhooks)."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from saekdam_contracts.webhooks import WebhookEventType

from . import Body


class WebhookIn(Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"url": "https://example.com/hooks/saekdam", "events": ["task.completed"]}]
        },
    )

    url: str = Field(max_length=2048, description="An http or https URL on a public address")
    events: list[WebhookEventType] = Field(min_length=1, max_length=4)

    @field_validator("events")
    @classmethod
    def _once_each(cls, events: list[str]) -> list[str]:
        return list(dict.fromkeys(events))


class WebhookOut(BaseModel):
    webhook_id: str
    url: str
    events: list[WebhookEventType]
    created_at: datetime
    # Set when the receiver answered 410 Gone: nothing more is sent to it.
    disabled_at: datetime | None = None
    disabled_reason: str | None = None


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="`whsec_` + base64 key to verify signatures with; shown only here"
    )


class WebhookList(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    """One event for one endpoint. `delivery_id` is its `webhook-id` header, the same on
    every retry; status is pending, delivered, failed (gave up) or disabled."""

    delivery_id: str
    task_id: str
    event_type: WebhookEventType
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None
