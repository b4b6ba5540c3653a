import asyncio

from .board_helpers import admin, completed_task, post, registered


async def _walk(api, **params) -> list[str]:
    seen, cursor = [], None
    while True:
        query = {"limit": 3, **params, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/v1/posts", params=query)).json()
        seen += [p["post_id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


async def test_walking_every_page_while_posts_arrive_returns_each_older_post_once(api):
    author = await registered(api)
    tag = "pagingwalk"
    older = [(await post(api, author, title=f"{tag} older {i}"))["post_id"] for i in range(10)]
    seen, cursor, added = [], None, 0
    while True:
        query = {"limit": 3, "q": tag, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/v1/posts", params=query)).json()
        seen += [p["post_id"] for p in page["items"]]
        # New posts keep arriving while someone pages.
        await post(api, author, title=f"{tag} newer {added}")
        added += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [p for p in seen if p in older] == list(reversed(older))
    assert len(seen) == len(set(seen))


async def test_recent_is_newest_first_and_popular_puts_liked_posts_up(api):
    author = await registered(api)
    tag = "popularorder"
    first = await post(api, author, title=f"{tag} first")
    second = await post(api, author, title=f"{tag} second")
    recent = await _walk(api, q=tag)
    assert recent == [second["post_id"], first["post_id"]]
    fans = await asyncio.gather(*(registered(api) for _ in range(3)))
    for fan in fans:
        await api.put(f"/v1/posts/{first['post_id']}/like", headers=fan)
    popular = await _walk(api, q=tag, sort="popular")
    assert popular == [first["post_id"], second["post_id"]]


async def test_search_finds_korean_and_english_substrings(api):
    author = await registered(api)
    korean = await post(api, author, title="우리 동네 벽화를 그렸어요", body="바다 테마")
    english = await post(api, author, title="Ocean wall", body="A MURALIST's whales")
    for query, expected in [
        ("벽화", korean),
        ("동네 벽", korean),
        ("테마", korean),
        ("muralist", english),  # inside a word, any case
        ("ocean wa", english),
    ]:
        found = [
            p["post_id"] for p in (await api.get("/v1/posts", params={"q": query})).json()["items"]
        ]
        assert expected["post_id"] in found, query
    none = await api.get("/v1/posts", params={"q": "100%_literal"})
    assert none.status_code == 200 and none.json()["items"] == []


async def test_search_ranks_title_matches_first(api):
    author = await registered(api)
    in_title = await post(api, author, title="rankprobe in the title")
    await post(api, author, title="Something newer", body="rankprobe in the body")
    found = (await api.get("/v1/posts", params={"q": "rankprobe"})).json()["items"]
    assert found[0]["post_id"] == in_title["post_id"] and len(found) == 2


async def test_hidden_and_deleted_posts_leave_lists_and_search(api, api_settings):
    author, moderator = await registered(api), await admin(api, api_settings)
    hidden = await post(api, author, title="hideprobe to be hidden")
    deleted = await post(api, author, title="hideprobe to be deleted")
    kept = await post(api, author, title="hideprobe stays")
    hide = await api.put(f"/v1/admin/posts/{hidden['post_id']}/hidden", headers=moderator)
    assert hide.status_code == 204
    assert (await api.delete(f"/v1/posts/{deleted['post_id']}", headers=author)).status_code == 204
    found = await _walk(api, q="hideprobe")
    assert found == [kept["post_id"]]
    assert (await api.get(f"/v1/posts/{hidden['post_id']}", headers=author)).status_code == 404
    # Admins still see a hidden post (to review it); unhiding puts it back.
    assert (await api.get(f"/v1/posts/{hidden['post_id']}", headers=moderator)).status_code == 200
    await api.delete(f"/v1/admin/posts/{hidden['post_id']}/hidden", headers=moderator)
    assert hidden["post_id"] in await _walk(api, q="hideprobe")


async def test_a_post_shows_author_counts_and_short_lived_image_urls(api):
    author = await registered(api)
    me = (await api.get("/v1/users/me", headers=author)).json()
    task_id = await completed_task(api, author)
    created = await post(api, author, task_id=task_id)
    page = (await api.get(f"/v1/posts/{created['post_id']}", headers=author)).json()
    assert page["author"] == {"username": me["username"]}
    assert (page["like_count"], page["comment_count"], page["view_count"]) == (0, 0, 1)
    assert "expires=" in page["images"][0]["url"] and "signature=" in page["images"][0]["url"]
