"""Result items as the owner reads them: the original's URL plus signed display and thumbnail
copies, and results stored before copies existed still readable."""

import io

from PIL import Image

from saekdam_backbone import imaging
from saekdam_contracts.events import ResultItem, StoredRendition
from saekdam_contracts.keys import result_key

from .board_helpers import png
from .conftest import register


async def finished_task(api, headers: dict, with_renditions: bool) -> str:
    """A COMPLETED mural whose result is stored the way the worker stores one."""
    state = api.app.state
    task_id = (await api.post("/v1/tasks", headers=headers)).json()["task_id"]
    me = (await api.get("/v1/users/me", headers=headers)).json()
    await state.store.submit(task_id, me["id"], "mural", {"theme": "ocean"}, [])
    attempt = (await state.store.claim(task_id, "test-worker", 30)).task.attempt
    original = png(2400, 1600)
    key = result_key(task_id, attempt, "mural.png")
    state.storage.write(key, original, "image/png")
    copies = {}
    if with_renditions:
        made = imaging.renditions(
            imaging.open_image(original), [imaging.DISPLAY, imaging.THUMBNAIL]
        )
        for label, rendition in zip(("display", "thumbnail"), made, strict=True):
            copy_key = result_key(task_id, attempt, f"mural.{label}.webp")
            state.storage.write(copy_key, rendition.data, rendition.content_type)
            copies[label] = StoredRendition(
                key=copy_key,
                content_type=rendition.content_type,
                width=rendition.width,
                height=rendition.height,
            )
    result = ResultItem(
        key=key, content_type="image/png", width=2400, height=1600, seed=9, **copies
    )
    assert await state.store.complete(task_id, attempt, [result]) is not None
    return task_id


async def download(api, url: str) -> bytes:
    response = await api.get(url.removeprefix("http://testserver"))
    assert response.status_code == 200, response.text
    return response.content


async def test_a_result_has_signed_display_and_thumbnail_urls_that_download(api):
    headers = await register(api)
    task_id = await finished_task(api, headers, with_renditions=True)

    (result,) = (await api.get(f"/v1/tasks/{task_id}", headers=headers)).json()["results"]

    assert "key" not in result and "key" not in result["display"]
    assert (await download(api, result["url"])).startswith(b"\x89PNG")
    for label, size in (("display", (2048, 1365)), ("thumbnail", (512, 341))):
        copy = result[label]
        assert copy["content_type"] == "image/webp"
        assert (copy["width"], copy["height"]) == size
        assert "signature=" in copy["url"]
        with Image.open(io.BytesIO(await download(api, copy["url"]))) as decoded:
            assert decoded.format == "WEBP" and decoded.size == size


async def test_a_result_stored_before_renditions_existed_shows_null_copies(api):
    headers = await register(api)
    task_id = await finished_task(api, headers, with_renditions=False)

    (result,) = (await api.get(f"/v1/tasks/{task_id}", headers=headers)).json()["results"]

    assert result["display"] is None and result["thumbnail"] is None
    assert (result["width"], result["height"], result["seed"]) == (2400, 1600, 9)
    assert (await download(api, result["url"])).startswith(b"\x89PNG")


async def test_the_openapi_document_describes_display_and_thumbnail(api):
    schemas = (await api.get("/openapi.json")).json()["components"]["schemas"]

    result = schemas["PublicResult"]["properties"]
    assert {"url", "content_type", "width", "height", "seed", "display", "thumbnail"} <= set(result)
    assert "2048" in result["display"]["description"]
    assert "512" in result["thumbnail"]["description"]
    assert set(schemas["PublicRendition"]["properties"]) == {
        "url",
        "content_type",
        "width",
        "height",
    }
