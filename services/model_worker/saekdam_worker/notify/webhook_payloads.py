"""What a webhook delivery carries: `{type, timestamp, data}`, at most `max_bytes`, under a
`webhook-id` that is the same for the same event however often it is read."""

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from saekdam_contracts.tasks import TaskView
from saekdam_contracts.webhooks import WebhookEventType, WebhookPayload

MAX_ERROR_CHARS = 1000


def delivery_id(endpoint_id: str, task_id: str, status: str, seq: int) -> str:
    """`msg_` + 32 hex: one event (a task's change number `seq`) for one endpoint."""
    digest = hashlib.sha256(f"{endpoint_id}:{task_id}:{status}:{seq}".encode()).hexdigest()
    return "msg_" + digest[:32]


def encode(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def webhook_payload(event_type: WebhookEventType, view: TaskView, max_bytes: int) -> dict:
    """The body as JSON data. Too big, it loses `data.params`, then results from the end
    (and a long error message is cut), and says `truncated: true`."""
    body = WebhookPayload(type=event_type, timestamp=datetime.now(UTC), data=view).model_dump(
        mode="json", exclude={"truncated"}
    )
    if _size(body) <= max_bytes:
        return body
    body["truncated"] = True
    data = body["data"]
    data["params"] = None
    if data.get("error"):
        data["error"]["message"] = data["error"]["message"][:MAX_ERROR_CHARS]
    while _size(body) > max_bytes and data.get("results"):
        data["results"].pop()
    return body


def _size(body: dict) -> int:
    return len(encode(body).encode())
