from .board_helpers import completed_task, post, registered


async def test_remix_makes_a_task_of_the_callers_with_the_posts_settings(api):
    author, remixer = await registered(api), await registered(api)
    created = await post(api, author)
    response = await api.post(f"/v1/posts/{created['post_id']}/remix", headers=remixer, json={})
    assert response.status_code == 201, response.text
    remix = response.json()
    assert remix["status"] == "CREATED" and remix["kind"] == "mural"
    # Theme and wish come along; the seed only when asked, the wall region starts over.
    assert remix["params"] == {
        "theme": "ocean",
        "prompt": "whales and waves",
        "region": {"mode": "auto"},
    }
    assert "seed" not in remix["params"] and remix["params"]["region"] == {"mode": "auto"}
    task = await api.get(f"/v1/tasks/{remix['task_id']}", headers=remixer)
    assert task.status_code == 200 and task.json()["params"] == remix["params"]
    # It is the remixer's task, nobody else's.
    assert (await api.get(f"/v1/tasks/{remix['task_id']}", headers=author)).status_code == 404


async def test_remix_keeps_the_seed_when_asked(api):
    author, remixer = await registered(api), await registered(api)
    created = await post(api, author)
    response = await api.post(
        f"/v1/posts/{created['post_id']}/remix", headers=remixer, json={"keep_seed": True}
    )
    assert response.json()["params"]["seed"] == 1234


async def test_a_post_of_uploads_only_or_a_missing_post_cannot_be_remixed(api):
    remixer = await registered(api)
    response = await api.post("/v1/posts/nope/remix", headers=remixer)
    assert response.status_code == 404 and response.json()["error"]["code"] == "post_not_found"


async def test_a_filter_post_remixes_as_a_filter_task(api):
    author = await registered(api)
    task_id = await completed_task(api, author, kind="filter", params={"filter": "cartoon"})
    created = await post(api, author, task_id=task_id)
    assert created["made_with"]["kind"] == "filter"
    remix = (await api.post(f"/v1/posts/{created['post_id']}/remix", headers=author)).json()
    assert remix["kind"] == "filter" and remix["params"] == {"filter": "cartoon"}
