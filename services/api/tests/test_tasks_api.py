import pytest

from saekdam_contracts.status import TaskStatus

from .conftest import register


async def test_creating_a_task_needs_a_token(api):
    response = await api.post("/v1/tasks")
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "token_missing", "message": response.json()["error"]["message"]}
    }


async def test_a_new_task_is_created_and_readable_by_its_owner(api):
    headers = await register(api)
    created = await api.post("/v1/tasks", headers=headers)
    assert created.status_code == 201
    task_id = created.json()["task_id"]
    assert created.json()["status"] == TaskStatus.CREATED
    task = (await api.get(f"/v1/tasks/{task_id}", headers=headers)).json()
    assert task["status"] == "CREATED" and task["seq"] == 0 and task["results"] is None


async def test_an_upload_slot_has_a_server_chosen_key_and_an_absolute_url(api):
    headers = await register(api)
    task_id = (await api.post("/v1/tasks", headers=headers)).json()["task_id"]
    me = (await api.get("/v1/users/me", headers=headers)).json()
    slot = await api.post(
        f"/v1/tasks/{task_id}/uploads",
        headers=headers,
        json={"role": "image", "content_type": "image/png", "size": 1000},
    )
    assert slot.status_code == 201
    body = slot.json()
    assert body["key"] == f"uploads/{me['id']}/{task_id}/{body['upload_id']}"
    assert body["url"].startswith("http://testserver/") and body["max_bytes"] == 1000
    assert {"key", "policy", "signature"} <= set(body["fields"])


async def test_an_upload_slot_refuses_unknown_roles_and_types(api):
    headers = await register(api)
    task_id = (await api.post("/v1/tasks", headers=headers)).json()["task_id"]
    bad_role = await api.post(
        f"/v1/tasks/{task_id}/uploads",
        headers=headers,
        json={"role": "script", "content_type": "image/png", "size": 10},
    )
    assert bad_role.status_code == 422
    bad_type = await api.post(
        f"/v1/tasks/{task_id}/uploads",
        headers=headers,
        json={"role": "image", "content_type": "text/html", "size": 10},
    )
    assert bad_type.status_code == 415
    assert bad_type.json()["error"]["code"] == "upload_type_unsupported"


async def test_my_tasks_are_listed_newest_first_in_pages(api):
    headers = await register(api)
    ids = [(await api.post("/v1/tasks", headers=headers)).json()["task_id"] for _ in range(3)]
    first = (await api.get("/v1/tasks?limit=2", headers=headers)).json()
    assert [t["task_id"] for t in first["items"]] == ids[::-1][:2]
    second = (
        await api.get(f"/v1/tasks?limit=2&cursor={first['next_cursor']}", headers=headers)
    ).json()
    assert [t["task_id"] for t in second["items"]] == ids[:1] and second["next_cursor"] is None


async def test_tasks_created_while_someone_pages_do_not_shift_the_next_page(api):
    headers = await register(api)
    ids = [(await api.post("/v1/tasks", headers=headers)).json()["task_id"] for _ in range(4)]
    first = (await api.get("/v1/tasks?limit=2", headers=headers)).json()
    newer = [(await api.post("/v1/tasks", headers=headers)).json()["task_id"] for _ in range(2)]
    second = (
        await api.get(f"/v1/tasks?limit=2&cursor={first['next_cursor']}", headers=headers)
    ).json()
    # Each older task exactly once; the new ones are on a fresh first page.
    assert [t["task_id"] for t in second["items"]] == ids[:2][::-1]
    fresh = (await api.get("/v1/tasks?limit=2", headers=headers)).json()
    assert [t["task_id"] for t in fresh["items"]] == newer[::-1]


@pytest.mark.parametrize("cursor", ["20", "bm9wZQ", "WyIyMDI2IiwxXQ"])
async def test_a_cursor_this_server_did_not_hand_out_is_a_400(api, cursor):
    headers = await register(api)
    response = await api.get(f"/v1/tasks?cursor={cursor}", headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_cursor"


async def test_cancel_before_submit_ends_the_task(api):
    headers = await register(api)
    task_id = (await api.post("/v1/tasks", headers=headers)).json()["task_id"]
    cancelled = await api.post(f"/v1/tasks/{task_id}/cancel", headers=headers)
    assert cancelled.json()["status"] == "CANCELLED"
    again = await api.post(f"/v1/tasks/{task_id}/cancel", headers=headers)
    assert again.status_code == 202 and again.json()["status"] == "CANCELLED"
    late = await api.post(
        f"/v1/tasks/{task_id}/uploads",
        headers=headers,
        json={"role": "image", "content_type": "image/png", "size": 10},
    )
    assert late.status_code == 409


async def test_diagnostic_jobs_are_unknown_unless_enabled(api):
    headers = await register(api)
    task_id = (await api.post("/v1/tasks", headers=headers)).json()["task_id"]
    response = await api.post(
        f"/v1/tasks/{task_id}/submit", headers=headers, json={"kind": "noop", "params": {}}
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "unknown_kind"


async def test_the_catalog_lists_the_six_filters(api):
    filters = (await api.get("/v1/filters")).json()["filters"]
    assert [f["name"] for f in filters] == [
        "original",
        "emboss",
        "cartoon",
        "pencil_gray",
        "pencil_color",
        "oil_painting",
    ]
    kinds = [k["kind"] for k in (await api.get("/v1/kinds")).json()["kinds"]]
    assert kinds == ["filter", "panorama", "mural", "sketch"]
