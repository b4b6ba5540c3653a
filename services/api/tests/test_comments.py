from .board_helpers import admin, post, registered


async def test_comments_read_oldest_first_with_paging_and_counts(api):
    author, reader = await registered(api), await registered(api)
    created = await post(api, author)
    path = f"/v1/posts/{created['post_id']}/comments"
    for i in range(5):
        assert (await api.post(path, headers=reader, json={"body": f"c{i}"})).status_code == 201
    first = (await api.get(path, params={"limit": 3})).json()
    rest = (await api.get(path, params={"limit": 3, "cursor": first["next_cursor"]})).json()
    assert [c["body"] for c in first["items"] + rest["items"]] == [f"c{i}" for i in range(5)]
    assert rest["next_cursor"] is None
    assert (await api.get(f"/v1/posts/{created['post_id']}")).json()["comment_count"] == 5


async def test_comment_length_limits(api):
    author = await registered(api)
    created = await post(api, author)
    path = f"/v1/posts/{created['post_id']}/comments"
    for body in ("", "x" * 1001):
        response = await api.post(path, headers=author, json={"body": body})
        assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_request"
    assert (await api.post(path, headers=author, json={"body": "x" * 1000})).status_code == 201


async def test_deleted_and_hidden_comments_leave_the_thread(api, api_settings):
    author, moderator = await registered(api), await admin(api, api_settings)
    created = await post(api, author)
    path = f"/v1/posts/{created['post_id']}/comments"
    ids = [
        (await api.post(path, headers=author, json={"body": b})).json()["comment_id"]
        for b in ("keep", "delete", "hide")
    ]
    assert (await api.delete(f"/v1/comments/{ids[1]}", headers=author)).status_code == 204
    hide = await api.put(f"/v1/admin/comments/{ids[2]}/hidden", headers=moderator)
    assert hide.status_code == 204
    thread = (await api.get(path)).json()["items"]
    assert [c["body"] for c in thread] == ["keep"]
    assert (await api.get(f"/v1/posts/{created['post_id']}")).json()["comment_count"] == 1
    again = await api.patch(f"/v1/comments/{ids[1]}", headers=author, json={"body": "back"})
    assert again.status_code == 404 and again.json()["error"]["code"] == "comment_not_found"
