import asyncio

from .board_helpers import post, registered


async def test_fifty_users_liking_at_once_give_exactly_fifty(api):
    author = await registered(api)
    created = await post(api, author)
    fans = await asyncio.gather(*(registered(api) for _ in range(50)))
    path = f"/v1/posts/{created['post_id']}/like"
    responses = await asyncio.gather(*(api.put(path, headers=fan) for fan in fans))
    assert all(r.status_code == 200 for r in responses)
    assert (await api.get(f"/v1/posts/{created['post_id']}")).json()["like_count"] == 50


async def test_one_user_liking_twenty_times_at_once_counts_once(api):
    author, fan = await registered(api), await registered(api)
    created = await post(api, author)
    path = f"/v1/posts/{created['post_id']}/like"
    responses = await asyncio.gather(*(api.put(path, headers=fan) for _ in range(20)))
    assert {r.json()["like_count"] for r in responses} <= {1}
    page = (await api.get(f"/v1/posts/{created['post_id']}", headers=fan)).json()
    assert page["like_count"] == 1 and page["liked_by_me"] is True


async def test_unlike_is_idempotent(api):
    author, fan = await registered(api), await registered(api)
    created = await post(api, author)
    path = f"/v1/posts/{created['post_id']}/like"
    await api.put(path, headers=fan)
    results = await asyncio.gather(*(api.delete(path, headers=fan) for _ in range(5)))
    assert all(r.status_code == 200 and r.json()["like_count"] == 0 for r in results)
    again = await api.delete(path, headers=fan)
    assert again.json() == {"post_id": created["post_id"], "liked": False, "like_count": 0}


async def test_liking_an_unknown_or_deleted_post_is_404(api):
    author, fan = await registered(api), await registered(api)
    created = await post(api, author)
    await api.delete(f"/v1/posts/{created['post_id']}", headers=author)
    for post_id in ("nope", created["post_id"]):
        response = await api.put(f"/v1/posts/{post_id}/like", headers=fan)
        assert response.status_code == 404 and response.json()["error"]["code"] == "post_not_found"
