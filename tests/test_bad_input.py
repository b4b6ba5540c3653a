"""Bad input over real HTTP: every case is a 4xx with an error code, and nothing is enqueued."""

import asyncio
import io
import json

import pytest
import websockets
from PIL import Image
from redis.asyncio import Redis
from skimage import data as skdata

from saekdam_api.domain.uploads import EXPIRY_SKEW
from saekdam_backbone.queue import stream_for
from saekdam_contracts.jobs import JOB_SPECS
from tests.fixtures.client import Client, png_bytes
from tests.fixtures.system import start_system, storage_env

pytestmark = pytest.mark.slow

MAX_UPLOAD_BYTES = 2_000_000


@pytest.fixture(
    scope="module", params=[("local", "sqlite"), ("s3", "postgres")], ids=["local", "s3"]
)
def system(request, tmp_path_factory, redis_url):
    storage, database = request.param
    tmp = tmp_path_factory.mktemp(f"bad-input-{storage}")
    moto = request.getfixturevalue("moto_server") if storage == "s3" else None
    started = start_system(
        tmp,
        database_url=request.getfixturevalue(f"{database}_url"),
        redis_url=redis_url,
        storage_env=storage_env(storage, tmp, moto),
        UPLOAD_EXPIRES_S="2",
        MAX_UPLOAD_BYTES=str(MAX_UPLOAD_BYTES),
    )
    started.storage = storage
    yield started
    started.shutdown()


async def stream_task_ids(redis_url: str) -> set[str]:
    redis = Redis.from_url(redis_url)
    try:
        entries = [e for kind in JOB_SPECS for e in await redis.xrange(stream_for(kind))]
        return {fields[b"task_id"].decode() for _, fields in entries}
    finally:
        await redis.aclose()


@pytest.fixture
async def client(system) -> Client:
    return await Client(system.base_url).as_guest()


@pytest.fixture
async def nothing_enqueued(redis_url, client):
    """Fails the test if any task the client made reached a job stream or left CREATED."""
    yield
    mine = {
        t["task_id"]: t["status"]
        for t in (await client.request("GET", "/v1/tasks")).json()["items"]
    }
    assert mine, "the test made no task"
    assert set(mine.values()) == {"CREATED"}, mine
    assert not (set(mine) & await stream_task_ids(redis_url))


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]


async def submit_upload(
    client: Client, data: bytes, content_type: str = "image/png", params: dict | None = None
):
    task_id = await client.create_task()
    await client.upload(task_id, data, content_type)
    response = await client.submit(task_id, "filter", params or {"filter": "emboss"})
    assert (await client.task(task_id))["status"] == "CREATED"
    return response


async def test_html_labelled_png_is_refused(client, nothing_enqueued):
    html = b"<!doctype html><html><script>alert(1)</script></html>"
    assert_error(await submit_upload(client, html), 415, "upload_type_unsupported")


async def test_truncated_png_is_refused(client, nothing_enqueued):
    whole = png_bytes(skdata.astronaut())
    assert_error(await submit_upload(client, whole[: len(whole) // 2]), 422, "upload_undecodable")


async def test_huge_dimensions_are_refused_before_decoding(client, nothing_enqueued):
    buffer = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buffer, format="PNG")
    assert len(buffer.getvalue()) < MAX_UPLOAD_BYTES
    assert_error(await submit_upload(client, buffer.getvalue()), 422, "upload_too_many_pixels")


async def test_an_upload_slot_over_the_size_limit_is_refused(client):
    task_id = await client.create_task()
    response = await client.request_upload(task_id, b"", size=MAX_UPLOAD_BYTES + 1)
    assert_error(response, 413, "upload_too_large")


async def test_a_file_larger_than_declared_is_refused(system, client, nothing_enqueued):
    task_id = await client.create_task()
    data = png_bytes(skdata.astronaut())
    slot = await client.request_upload(task_id, data, size=len(data) // 2)
    sent = await client.post_form(slot.json(), data, "image/png")
    if system.storage == "local":  # the API's own endpoint enforces the policy at once
        assert_error(sent, 413, "upload_too_large")
        expected = ("upload_missing", 422)
    else:  # moto enforces no policy; the submit-time check must catch it
        assert sent.status_code in (200, 204)
        expected = ("upload_too_large", 413)
    response = await client.submit(task_id, "filter", {"filter": "emboss"})
    assert_error(response, expected[1], expected[0])


async def test_an_expired_upload_is_refused(system, client, nothing_enqueued):
    task_id = await client.create_task()
    data = png_bytes(skdata.astronaut())
    slot = await client.request_upload(task_id, data)
    # UPLOAD_EXPIRES_S=2, plus the clock skew the API tolerates, plus the store's
    # one-second timestamps.
    await asyncio.sleep(2 + EXPIRY_SKEW.total_seconds() + 1.5)
    sent = await client.post_form(slot.json(), data, "image/png")
    if system.storage == "local":
        assert_error(sent, 403, "upload_expired")
    response = await client.submit(task_id, "filter", {"filter": "emboss"})
    assert_error(response, 422, "upload_expired")


@pytest.mark.parametrize(
    ("kind", "params", "code"),
    [
        ("filter", {"filter": "sepia"}, "invalid_params"),
        ("filter", {"filter": 3}, "invalid_params"),
        ("filter", {}, "invalid_params"),
        ("filter", {"filter": "emboss", "extra": True}, "invalid_params"),
        ("panorama", {"mode": ["scans"]}, "invalid_params"),
        ("teleport", {}, "unknown_kind"),
        ("mural", {"theme": "gothic"}, "invalid_params"),
        ("mural", {"theme": "ocean", "region": {"mode": "box"}}, "invalid_params"),
        (
            "mural",
            {
                "theme": "ocean",
                "region": {"mode": "box", "box": {"x": 0.8, "y": 0, "w": 0.5, "h": 1}},
            },
            "invalid_params",
        ),
        ("mural", {"theme": "ocean", "region": {"mode": "points", "points": []}}, "invalid_params"),
        ("mural", {"theme": "ocean", "steps": 0}, "invalid_params"),
        ("mural", {"theme": "ocean", "steps": 1, "strength": 0.5}, "invalid_params"),
        ("mural", {"theme": "ocean", "lora_scale": 5}, "invalid_params"),
        ("mural", {"theme": "ocean", "seed": -1}, "invalid_params"),
        ("mural", {"theme": "ocean", "prompt": "x" * 501}, "invalid_params"),
        ("mural", {"theme": "ocean", "region": {"mode": "mask"}}, "upload_required"),
        ("sketch", {"style": "vaporwave"}, "invalid_params"),
        ("sketch", {"style": "anime", "adapter_scale": "high"}, "invalid_params"),
        ("sketch", {"style": "anime"}, "upload_role_unexpected"),
    ],
)
async def test_bad_kind_or_params_are_refused(client, nothing_enqueued, kind, params, code):
    task_id = await client.create_task()
    await client.upload(task_id, png_bytes(skdata.astronaut()))
    assert_error(await client.submit(task_id, kind, params), 422, code)


async def test_a_panorama_needs_two_images(client, nothing_enqueued):
    task_id = await client.create_task()
    await client.upload(task_id, png_bytes(skdata.astronaut()))
    assert_error(await client.submit(task_id, "panorama", {}), 422, "upload_required")


async def test_another_users_task_is_not_found(system, client, nothing_enqueued):
    task_id = await client.create_task()
    await client.upload(task_id, png_bytes(skdata.astronaut()))
    intruder = await Client(system.base_url).as_guest()
    for method, path, body in [
        ("GET", f"/v1/tasks/{task_id}", None),
        (
            "POST",
            f"/v1/tasks/{task_id}/uploads",
            {"role": "image", "content_type": "image/png", "size": 10},
        ),
        ("POST", f"/v1/tasks/{task_id}/submit", {"kind": "filter", "params": {"filter": "emboss"}}),
        ("POST", f"/v1/tasks/{task_id}/cancel", None),
    ]:
        assert_error(await intruder.request(method, path, json=body), 404, "task_not_found")
    listed = (await intruder.request("GET", "/v1/tasks")).json()["items"]
    assert task_id not in [t["task_id"] for t in listed]
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await intruder.events(task_id)
    assert closed.value.rcvd.code == 1008


@pytest.mark.parametrize("token", [None, "not-a-jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"])
async def test_missing_or_bad_tokens_are_refused(system, token):
    client = Client(system.base_url, token=token)
    code = "token_missing" if token is None else "token_invalid"
    assert_error(await client.request("POST", "/v1/tasks"), 401, code)
    assert_error(await client.request("GET", "/v1/users/me"), 401, code)


async def test_the_websocket_closes_1008_without_a_valid_token(system, client):
    task_id = await client.create_task()
    url = f"{client.ws_url}/v1/tasks/{task_id}/events"
    for first_frame in ['{"type": "auth", "token": "forged"}', "not json", '{"type": "hello"}']:
        async with websockets.connect(url) as ws:
            await ws.send(first_frame)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd.code == 1008


async def test_the_websocket_refuses_a_foreign_origin(system, client):
    task_id = await client.create_task()
    url = f"{client.ws_url}/v1/tasks/{task_id}/events"
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(
            url, origin="https://evil.example", additional_headers=client.headers
        ):
            pass
    assert refused.value.response.status_code == 403


async def test_unknown_websocket_messages_get_an_error_frame(system, client):
    task_id = await client.create_task()
    async with websockets.connect(f"{client.ws_url}/v1/tasks/{task_id}/events") as ws:
        await ws.send(json.dumps({"type": "auth", "token": client.token}))
        await ws.send(json.dumps({"type": "ping"}))  # at once: still the snapshot comes first
        assert json.loads(await ws.recv())["type"] == "snapshot"
        assert json.loads(await ws.recv()) == {"type": "pong"}
        await ws.send("garbage")
        assert json.loads(await ws.recv())["error"]["code"] == "unknown_message"
        await ws.send(b"\x00\xff binary")
        assert json.loads(await ws.recv())["error"]["code"] == "unknown_message"
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await ws.recv()) == {"type": "pong"}


async def test_malformed_json_gets_an_error_body(client):
    response = await client.request(
        "POST", "/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_error(response, 422, "invalid_request")


async def _refused_on_the_socket(client: Client, task_id: str, token: str) -> list[str]:
    """The close reasons for the token sent as a header and as the first frame."""
    url = f"{client.ws_url}/v1/tasks/{task_id}/events"
    reasons = []
    for by_header in (True, False):
        headers = {"Authorization": f"Bearer {token}"} if by_header else {}
        async with websockets.connect(url, additional_headers=headers) as ws:
            if not by_header:
                await ws.send(json.dumps({"type": "auth", "token": token}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd.code == 1008
            reasons.append(closed.value.rcvd.reason)
    return reasons


async def test_a_deleted_users_token_is_refused_over_http_and_the_websocket(system):
    client = await Client(system.base_url).register()
    task_id = await client.create_task()
    token = client.token
    assert (await client.request("DELETE", "/v1/users/me")).status_code == 204
    assert_error(await client.request("GET", "/v1/users/me"), 401, "token_invalid")
    assert_error(await client.request("POST", "/v1/tasks"), 401, "token_invalid")
    assert await _refused_on_the_socket(client, task_id, token) == ["token_invalid"] * 2


async def test_a_disabled_users_token_is_refused_at_once(system):
    from saekdam_api.admin import apply

    client = await Client(system.base_url).register()
    task_id = await client.create_task()
    email = (await client.request("GET", "/v1/users/me")).json()["email"]
    assert await apply(system.env["DATABASE_URL"], "disable", email)
    assert_error(await client.request("GET", "/v1/users/me"), 401, "account_disabled")
    assert await _refused_on_the_socket(client, task_id, client.token) == ["account_disabled"] * 2
    assert await apply(system.env["DATABASE_URL"], "enable", email)
    assert (await client.request("GET", "/v1/users/me")).status_code == 200
