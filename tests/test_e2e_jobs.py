"""The 12-step sequence over real HTTP and websockets against running API and worker
processes, in both storage modes (local on SQLite, S3 on PostgreSQL)."""

import numpy as np
import pytest
from skimage import data as skdata

from tests.fixtures.client import Client, decode, jpeg_bytes, png_bytes

pytestmark = pytest.mark.slow

MODES = [("local", "sqlite"), ("s3", "postgres")]


def assert_well_sequenced(frames: list[dict]) -> None:
    assert frames[0]["type"] == "snapshot"
    seqs = [f["seq"] for f in frames]
    assert seqs == sorted(set(seqs)), f"seq must only grow: {seqs}"
    progress = [f["progress"] for f in frames if f["status"] == "INPROGRESS"]
    assert progress == sorted(progress), f"progress went backwards: {progress}"


@pytest.mark.parametrize(("storage", "database"), MODES)
async def test_filter_job_runs_the_twelve_steps(system_factory, storage, database):
    system = system_factory(storage, database)
    client = await Client(system.base_url).as_guest()
    photo = skdata.coffee()  # 400x600 RGB
    task_id = await client.create_task()  # 1
    await client.upload(task_id, jpeg_bytes(photo), "image/jpeg")  # 2, 3
    submitted = await client.submit(task_id, "filter", {"filter": "cartoon"})  # 4, 6
    assert submitted.status_code == 202, submitted.text
    assert submitted.json() == {"task_id": task_id, "status": "QUEUED"}

    frames = await client.events(task_id)  # 5, 7-10
    assert_well_sequenced(frames)
    assert frames[-1]["status"] == "COMPLETED"
    assert frames[-1]["results"][0]["url"].startswith("http")

    task = await client.task(task_id)  # 11
    assert task["status"] == "COMPLETED" and task["progress"] == 1.0
    (result,) = task["results"]
    downloaded = await client.download(result["url"])  # 12
    assert downloaded.status_code == 200
    image = decode(downloaded.content)
    assert image.size == (photo.shape[1], photo.shape[0]) == (result["width"], result["height"])
    assert downloaded.headers["content-type"] == result["content_type"] == "image/jpeg"
    assert not np.array_equal(np.asarray(image.convert("RGB")), photo)
    await assert_renditions_download(client, result)


async def assert_renditions_download(client: Client, result: dict) -> None:
    """The display and thumbnail copies download as WebPs of the sizes they claim."""
    for label, max_side in (("display", 2048), ("thumbnail", 512)):
        copy = result[label]
        response = await client.download(copy["url"])
        assert response.status_code == 200
        assert response.headers["content-type"] == copy["content_type"] == "image/webp"
        image = decode(response.content)
        assert image.format == "WEBP" and image.size == (copy["width"], copy["height"])
        # Never enlarged, aspect ratio kept (to the pixel).
        assert max(image.size) == min(max_side, max(result["width"], result["height"]))
        assert abs(image.width * result["height"] / result["width"] - image.height) <= 1


@pytest.mark.parametrize(("storage", "database"), MODES)
async def test_panorama_job_stitches_two_overlapping_halves(system_factory, storage, database):
    system = system_factory(storage, database)
    client = await Client(system.base_url).as_guest()
    astronaut = skdata.astronaut()  # 512x512
    left, right = astronaut[:, :320], astronaut[:, 192:]
    task_id = await client.create_task()
    await client.upload(task_id, png_bytes(left))
    await client.upload(task_id, png_bytes(right))
    assert (await client.submit(task_id, "panorama", {})).status_code == 202

    frames = await client.events(task_id)
    assert_well_sequenced(frames)
    assert frames[-1]["status"] == "COMPLETED", frames[-1]
    (result,) = (await client.task(task_id))["results"]
    image = decode((await client.download(result["url"])).content)
    assert image.size == (result["width"], result["height"])
    assert 400 <= image.width <= 600 and image.width > left.shape[1]
    assert 400 <= image.height <= 600


async def test_photos_that_do_not_overlap_fail_with_stitch_failed(system_factory):
    system = system_factory()
    client = await Client(system.base_url).as_guest()
    task_id = await client.create_task()
    await client.upload(task_id, png_bytes(skdata.astronaut()[:256, :256]))
    await client.upload(task_id, png_bytes(skdata.brick()[:256, :256]))
    assert (await client.submit(task_id, "panorama", {"mode": "panorama"})).status_code == 202

    frames = await client.events(task_id)
    assert frames[-1]["status"] == "FAILED"
    assert frames[-1]["error"]["code"] == "stitch_failed"
    assert (await client.task(task_id))["error"]["code"] == "stitch_failed"


async def test_a_client_connecting_after_completion_gets_completed_first(system_factory):
    system = system_factory()
    client = await Client(system.base_url).as_guest()
    task_id = await client.create_task()
    await client.upload(task_id, png_bytes(skdata.astronaut()))
    await client.submit(task_id, "filter", {"filter": "emboss"})
    await client.wait_until(task_id, lambda t: t["status"] == "COMPLETED")

    frames = await client.events(task_id, auth="frame")
    assert len(frames) == 1
    assert frames[0]["type"] == "snapshot" and frames[0]["status"] == "COMPLETED"
    assert frames[0]["results"][0]["width"] == 512


async def test_submitting_twice_runs_one_job(system_factory):
    system = system_factory()
    client = await Client(system.base_url).as_guest()
    task_id = await client.create_task()
    await client.upload(task_id, png_bytes(skdata.astronaut()))
    first = await client.submit(task_id, "filter", {"filter": "pencil_gray"})
    second = await client.submit(task_id, "filter", {"filter": "pencil_gray"})
    assert first.status_code == second.status_code == 202
    task = await client.wait_until(task_id, lambda t: t["status"] == "COMPLETED")
    assert task["attempt"] == 1
    other = await client.submit(task_id, "filter", {"filter": "emboss"})
    assert other.status_code == 409 and other.json()["error"]["code"] == "task_already_submitted"
