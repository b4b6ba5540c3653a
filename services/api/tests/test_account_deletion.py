from sqlalchemy import text

from .board_helpers import completed_task, post, registered


async def _rows(api, user_id: str) -> dict[str, int]:
    queries = {
        "users": "SELECT count(*) FROM users WHERE id = :u",
        "tasks": "SELECT count(*) FROM tasks WHERE owner_id = :u",
        "uploads": "SELECT count(*) FROM uploads WHERE owner_id = :u",
        "posts": "SELECT count(*) FROM posts WHERE author_id = :u",
        "comments": "SELECT count(*) FROM comments WHERE author_id = :u",
        "likes": "SELECT count(*) FROM likes WHERE user_id = :u",
        "webhooks": "SELECT count(*) FROM webhook_endpoints WHERE owner_id = :u",
    }
    async with api.app.state.engine.connect() as connection:
        return {
            name: (await connection.execute(text(sql), {"u": user_id})).scalar_one()
            for name, sql in queries.items()
        }


async def test_deleting_an_account_removes_its_rows_and_stored_objects(api):
    leaver, other = await registered(api), await registered(api)
    me = (await api.get("/v1/users/me", headers=leaver)).json()
    task_id = await completed_task(api, leaver)
    mine = await post(api, leaver, task_id=task_id)
    theirs = await post(api, other)
    # An upload slot with a file in it, a like and a comment on someone else's post.
    slot = (
        await api.post(
            f"/v1/tasks/{(await api.post('/v1/tasks', headers=leaver)).json()['task_id']}/uploads",
            headers=leaver,
            json={"role": "image", "content_type": "image/png", "size": 100},
        )
    ).json()
    api.app.state.storage.write(slot["key"], b"\x89PNG", "image/png")
    await api.put(f"/v1/posts/{theirs['post_id']}/like", headers=leaver)
    await api.post(f"/v1/posts/{theirs['post_id']}/comments", headers=leaver, json={"body": "hi"})
    hook = {"url": "https://93.184.215.14/hook", "events": ["task.completed"]}
    assert (await api.post("/v1/webhooks", headers=leaver, json=hook)).status_code == 201

    storage = api.app.state.storage
    prefixes = [f"uploads/{me['id']}/", f"results/{task_id}/", f"board/{mine['post_id']}/"]
    assert all(storage.list_keys(p) for p in prefixes)
    assert all(count > 0 for count in (await _rows(api, me["id"])).values())

    assert (await api.delete("/v1/users/me", headers=leaver)).status_code == 204

    assert [storage.list_keys(p) for p in prefixes] == [[], [], []]
    assert set((await _rows(api, me["id"])).values()) == {0}
    # Counts on the other user's post are given back, and the token no longer works.
    page = (await api.get(f"/v1/posts/{theirs['post_id']}")).json()
    assert (page["like_count"], page["comment_count"]) == (0, 0)
    gone = await api.get("/v1/users/me", headers=leaver)
    assert gone.status_code == 401 and gone.json()["error"]["code"] == "token_invalid"
    assert storage.list_keys(f"board/{theirs['post_id']}/")  # the other post is untouched


async def test_a_deleted_users_posture_history_goes_too(api):
    leaver = await registered(api)
    me = (await api.get("/v1/users/me", headers=leaver)).json()
    async with api.app.state.engine.begin() as connection:
        await connection.execute(
            text("CREATE TABLE IF NOT EXISTS posture_sessions (id TEXT, user_id TEXT)")
        )
        await connection.execute(
            text("INSERT INTO posture_sessions (id, user_id) VALUES ('s1', :u)"), {"u": me["id"]}
        )
    assert (await api.delete("/v1/users/me", headers=leaver)).status_code == 204
    async with api.app.state.engine.connect() as connection:
        left = await connection.execute(
            text("SELECT count(*) FROM posture_sessions WHERE user_id = :u"), {"u": me["id"]}
        )
        assert left.scalar_one() == 0
