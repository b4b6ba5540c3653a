"""Share a result on the board, then remix it onto another person's own wall: real API and
worker processes, filter and tiny-model mural jobs."""

import numpy as np
import pytest
from skimage import data as skdata

from tests.fixtures.client import Client, jpeg_bytes, png_bytes

pytestmark = pytest.mark.slow


async def _run(client: Client, task_id: str, kind: str, params: dict, photo: bytes, ctype: str):
    await client.upload(task_id, photo, ctype)
    submitted = await client.submit(task_id, kind, params)
    assert submitted.status_code == 202, submitted.text
    frames = await client.events(task_id, timeout_s=120)
    assert frames[-1]["status"] == "COMPLETED", frames[-1]
    return frames[-1]


async def _share_then_remix(
    system, kind: str, params: dict, photo: bytes, other: bytes, ctype, changes=None
):
    author = await Client(system.base_url).register()
    task_id = await author.create_task()
    await _run(author, task_id, kind, params, photo, ctype)
    shared = await author.request(
        "POST",
        "/v1/posts",
        json={"title": f"My {kind} result", "images": [{"task_id": task_id}]},
    )
    assert shared.status_code == 201, shared.text
    post = shared.json()
    assert post["made_with"]["kind"] == kind

    remixer = await Client(system.base_url).as_guest()  # guests run tasks, remix included
    remix = await remixer.request("POST", f"/v1/posts/{post['post_id']}/remix", json={})
    assert remix.status_code == 201, remix.text
    remix = remix.json()
    assert remix["kind"] == kind and remix["status"] == "CREATED"
    # Submitted with the remix's params, or changed ones (the wall of their own photo).
    submitted = remix["params"] | (changes or {})
    done = await _run(remixer, remix["task_id"], remix["kind"], submitted, other, ctype)
    task = await remixer.task(remix["task_id"])
    assert task["status"] == "COMPLETED" and done["results"]
    # The author cannot see the remixer's task.
    assert (await author.request("GET", f"/v1/tasks/{remix['task_id']}")).status_code == 404
    return post, remix, task


async def test_a_filter_post_remixed_runs_on_the_remixers_photo(system_factory):
    system = system_factory()
    post, remix, task = await _share_then_remix(
        system,
        "filter",
        {"filter": "pencil_gray"},
        jpeg_bytes(skdata.coffee()),
        jpeg_bytes(skdata.astronaut()),
        "image/jpeg",
    )
    assert remix["params"] == {"filter": "pencil_gray"}
    assert (task["results"][0]["width"], task["results"][0]["height"]) == (512, 512)


async def test_a_mural_post_remixed_paints_the_same_theme_on_another_wall(
    system_factory, tiny_models_env
):
    system = system_factory(**tiny_models_env)
    wall = np.dstack([skdata.brick()] * 3)[:300, :412]
    other_wall = np.ascontiguousarray(np.dstack([skdata.brick()] * 3)[100:356, 50:370])
    params = {
        "theme": "ocean",
        "prompt": "whales",
        "region": {"mode": "box", "box": {"x": 0.2, "y": 0.2, "w": 0.5, "h": 0.5}},
        "steps": 4,
        "seed": 7,
    }
    post, remix, task = await _share_then_remix(
        system,
        "mural",
        params,
        png_bytes(wall),
        png_bytes(other_wall),
        "image/png",
        changes={"region": {"mode": "box", "box": {"x": 0.1, "y": 0.1, "w": 0.6, "h": 0.6}}},
    )
    assert task["params"]["theme"] == "ocean" and task["params"]["prompt"] == "whales"
    assert post["made_with"]["theme"] == "ocean" and post["made_with"]["seed"] == 7
    assert remix["params"]["theme"] == "ocean" and remix["params"]["prompt"] == "whales"
    assert "seed" not in remix["params"]
    assert remix["params"]["region"]["mode"] == "auto"
    assert (task["results"][0]["width"], task["results"][0]["height"]) == (320, 256)
