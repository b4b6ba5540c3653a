"""Board test helpers: users of each kind, COMPLETED tasks with a stored result, posts."""

import io
import secrets

import numpy as np
from PIL import Image

from saekdam_api.admin import apply
from saekdam_contracts.events import ResultItem
from saekdam_contracts.keys import result_key

from .conftest import register


def png(width: int = 96, height: int = 64, seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


async def registered(api) -> dict:
    return await register(api)


async def guest(api) -> dict:
    token = (await api.post("/v1/auth/guest")).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


async def admin(api, api_settings) -> dict:
    email = f"admin-{secrets.token_hex(4)}@example.com"
    headers = await register(api, email)
    assert await apply(api_settings.database_url, "grant", email)
    return headers


async def completed_task(
    api, headers: dict, kind: str = "mural", params: dict | None = None, image: bytes | None = None
) -> str:
    """A task of the caller's that ran to COMPLETED, with one PNG result in storage."""
    state = api.app.state
    task_id = (await api.post("/v1/tasks", headers=headers)).json()["task_id"]
    me = (await api.get("/v1/users/me", headers=headers)).json()
    params = params or {
        "theme": "ocean",
        "prompt": "whales and waves",
        "region": {"mode": "box", "box": {"x": 0.1, "y": 0.1, "w": 0.5, "h": 0.5}},
        "seed": 1234,
    }
    await state.store.submit(task_id, me["id"], kind, params, [])
    claim = await state.store.claim(task_id, "test-worker", 30)
    data = image or png()
    key = result_key(task_id, claim.task.attempt, "mural.png")
    state.storage.write(key, data, "image/png")
    with Image.open(io.BytesIO(data)) as decoded:
        width, height = decoded.size
    result = ResultItem(key=key, content_type="image/png", width=width, height=height, seed=1234)
    assert await state.store.complete(task_id, claim.task.attempt, [result]) is not None
    return task_id


async def post(api, headers: dict, title: str = "Whales on the wall", body: str = "", **extra):
    task_id = extra.pop("task_id", None) or await completed_task(api, headers)
    response = await api.post(
        "/v1/posts",
        headers=headers,
        json={"title": title, "body": body, "images": [{"task_id": task_id}], **extra},
    )
    assert response.status_code == 201, response.text
    return response.json()
