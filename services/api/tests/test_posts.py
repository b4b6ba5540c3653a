import asyncio
import io

from PIL import Image

from saekdam_backbone import imaging

from .board_helpers import completed_task, guest, png, post, registered


async def test_sharing_a_completed_task_copies_its_image_with_a_thumbnail(api):
    author = await registered(api)
    task_id = await completed_task(api, author, image=png(1200, 800))
    response = await api.post(
        "/v1/posts",
        headers=author,
        json={
            "title": "Whales on the school wall",
            "body": "벽화",
            "images": [{"task_id": task_id}],
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    image = created["images"][0]
    assert (image["width"], image["height"]) == (1200, 800)
    assert max(image["thumbnail"]["width"], image["thumbnail"]["height"]) == 512
    assert {k: v for k, v in created["made_with"].items() if v is not None} == {
        "kind": "mural",
        "theme": "ocean",
        "prompt": "whales and waves",
        "seed": 1234,
    }
    keys = api.app.state.storage.list_keys(f"board/{created['post_id']}/")
    assert len(keys) == 2  # the original and its thumbnail, under the post's own keys
    thumb = await api.get(image["thumbnail"]["url"].removeprefix("http://testserver"))
    with Image.open(io.BytesIO(thumb.content)) as decoded:
        assert decoded.format == "WEBP" and max(decoded.size) == 512


async def test_a_post_outlives_the_tasks_stored_results(api):
    author = await registered(api)
    created = await post(api, author)
    api.app.state.storage.delete_prefix("results/")  # retention or clean-up of tasks
    page = await api.get(f"/v1/posts/{created['post_id']}")
    original = await api.get(page.json()["images"][0]["url"].removeprefix("http://testserver"))
    assert original.status_code == 200 and original.content.startswith(b"\x89PNG")


async def test_sharing_another_users_task_or_an_unfinished_one_is_refused(api):
    author, other = await registered(api), await registered(api)
    others_task = await completed_task(api, other)
    response = await api.post(
        "/v1/posts",
        headers=author,
        json={"title": "Not my mural", "images": [{"task_id": others_task}]},
    )
    assert response.status_code == 404 and response.json()["error"]["code"] == "task_not_found"
    unfinished = (await api.post("/v1/tasks", headers=author)).json()["task_id"]
    response = await api.post(
        "/v1/posts",
        headers=author,
        json={"title": "Too early", "images": [{"task_id": unfinished}]},
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "task_not_completed"


async def test_a_post_upload_is_verified_by_content(api):
    author = await registered(api)
    slot = await api.post(
        "/v1/posts/uploads", headers=author, json={"content_type": "image/png", "size": 5000}
    )
    assert slot.status_code == 201, slot.text
    form = slot.json()
    # The file claims to be a PNG but is HTML.
    files = {"file": ("x.png", b"<html><script>alert(1)</script></html>", "image/png")}
    upload = await api.post(
        form["url"].removeprefix("http://testserver"), data=form["fields"], files=files
    )
    assert upload.status_code == 204
    response = await api.post(
        "/v1/posts",
        headers=author,
        json={"title": "Looks like a png", "images": [{"upload_id": form["upload_id"]}]},
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "upload_type_unsupported"
    assert api.app.state.storage.list_keys("board/") == []  # nothing copied for a refusal


async def test_a_post_from_an_upload_has_no_made_with(api):
    author = await registered(api)
    data = png(640, 480, seed=3)
    form = (
        await api.post(
            "/v1/posts/uploads",
            headers=author,
            json={"content_type": "image/png", "size": len(data)},
        )
    ).json()
    files = {"file": ("wall.png", data, "image/png")}
    await api.post(form["url"].removeprefix("http://testserver"), data=form["fields"], files=files)
    response = await api.post(
        "/v1/posts",
        headers=author,
        json={"title": "My own photo", "images": [{"upload_id": form["upload_id"]}]},
    )
    assert response.status_code == 201, response.text
    assert response.json()["made_with"] is None
    assert response.json()["images"][0]["thumbnail"]["width"] == 512


async def test_guests_read_but_may_not_post(api):
    visitor = await guest(api)
    task_id = await completed_task(api, visitor)
    response = await api.post(
        "/v1/posts", headers=visitor, json={"title": "Guest post", "images": [{"task_id": task_id}]}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "registration_required"
    assert (await api.get("/v1/posts", headers=visitor)).status_code == 200


async def test_bad_post_input_gets_clear_codes(api):
    author = await registered(api)
    task_id = await completed_task(api, author)
    image = [{"task_id": task_id}]
    cases = [
        ({"title": "tiny", "images": image}, 422, "invalid_request"),
        ({"title": "x" * 101, "images": image}, 422, "invalid_request"),
        ({"title": "Long body", "body": "b" * 5001, "images": image}, 422, "invalid_request"),
        ({"title": "No images", "images": []}, 422, "invalid_request"),
        ({"title": "Too many", "images": image * 11}, 422, "invalid_request"),
        ({"title": "Twice the same", "images": image * 2}, 422, "duplicate_image"),
        (
            {"title": "Both sources", "images": [{"task_id": task_id, "upload_id": "u"}]},
            422,
            "invalid_request",
        ),
        (
            {"title": "Bad index", "images": [{"task_id": task_id, "result_index": 3}]},
            422,
            "result_not_found",
        ),
    ]
    for body, status, code in cases:
        response = await api.post("/v1/posts", headers=author, json=body)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), body
    for path in ("/v1/posts/no-such-post", "/v1/posts/no-such-post/comments"):
        response = await api.get(path)
        assert response.status_code == 404 and response.json()["error"]["code"] == "post_not_found"
    response = await api.get("/v1/posts", params={"cursor": "not-a-cursor"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_cursor"
    response = await api.get("/v1/posts", params={"sort": "random"})
    assert response.status_code == 422


async def test_text_is_stored_as_given_and_returned_as_json(api):
    author = await registered(api)
    title = "<script>alert('x')</script> & 벽화"
    created = await post(api, author, title=title, body="<b>bold</b>\n\u200bline")
    page = await api.get(f"/v1/posts/{created['post_id']}")
    assert page.headers["content-type"].startswith("application/json")
    assert page.json()["title"] == title and page.json()["body"] == "<b>bold</b>\n\u200bline"


async def test_views_count_once_per_viewer_per_day(api):
    author, reader = await registered(api), await registered(api)
    created = await post(api, author)
    path = f"/v1/posts/{created['post_id']}"
    await asyncio.gather(*(api.get(path, headers=reader) for _ in range(5)))
    await api.get(path, headers=author)
    assert (await api.get(path, headers=reader)).json()["view_count"] == 2


async def test_editing_and_deleting_a_post(api):
    author = await registered(api)
    created = await post(api, author)
    path = f"/v1/posts/{created['post_id']}"
    edited = await api.patch(path, headers=author, json={"title": "A better title"})
    assert edited.status_code == 200 and edited.json()["title"] == "A better title"
    comment = await api.post(f"{path}/comments", headers=author, json={"body": "first"})
    assert comment.status_code == 201
    assert (await api.delete(path, headers=author)).status_code == 204
    assert (await api.get(path)).status_code == 404
    assert (await api.get(f"{path}/comments")).status_code == 404
    gone = await api.patch(path, headers=author, json={"title": "Back again?"})
    assert gone.status_code == 404


async def test_a_public_profile_shows_no_email(api):
    author = await registered(api)
    me = (await api.get("/v1/users/me", headers=author)).json()
    await post(api, author)
    profile = await api.get(f"/v1/users/{me['username']}")
    assert profile.status_code == 200
    assert profile.json()["username"] == me["username"] and profile.json()["post_count"] == 1
    assert me["email"] not in profile.text and "email" not in profile.json()
    assert (await api.get("/v1/users/nobody-here")).status_code == 404


async def test_a_post_thumbnail_is_made_by_the_shared_imaging_code(api):
    author = await registered(api)
    original = png(1000, 1500, seed=4)
    created = await post(api, author, task_id=await completed_task(api, author, image=original))
    thumbnail = created["images"][0]["thumbnail"]

    stored = await api.get(thumbnail["url"].removeprefix("http://testserver"))

    # Byte for byte what results' thumbnails come from (saekdam_backbone.imaging).
    assert stored.content == imaging.thumbnail(original, 512).data
    assert (thumbnail["width"], thumbnail["height"]) == (341, 512)
