"""`/v1/themes` and `/v1/styles` read what workers advertise in Redis."""

import pytest

from saekdam_contracts.capabilities import WorkerCapabilities, worker_key
from saekdam_contracts.jobs import STYLES, THEMES


@pytest.fixture
async def advertise(api):
    """Write advertisements as a worker would; removed again after the test."""
    redis = api.app.state.redis
    written: list[str] = []

    async def write(worker_id: str, value: WorkerCapabilities | str) -> None:
        key = worker_key(worker_id)
        payload = value if isinstance(value, str) else value.model_dump_json()
        await redis.set(key, payload, ex=30)
        written.append(key)

    yield write
    if written:
        await redis.delete(*written)


def _available(body: dict, field: str) -> set[str]:
    return {entry["name"] for entry in body[field] if entry["available"]}


async def test_a_workers_advertisement_reaches_the_themes_and_styles(api, advertise):
    theme = next(t for t in THEMES if t != "custom")
    await advertise(
        "test-worker",
        WorkerCapabilities(
            kinds=["mural", "sketch"],
            themes=[theme, "custom"],
            styles=[STYLES[0]],
            mural_regions=["mask"],
        ),
    )
    themes = await api.get("/v1/themes")
    assert themes.status_code == 200, themes.text
    body = themes.json()
    assert _available(body, "themes") >= {theme, "custom"}
    assert [entry["name"] for entry in body["themes"]] == list(THEMES)
    assert "mask" in body["regions"]

    styles = await api.get("/v1/styles")
    assert styles.status_code == 200, styles.text
    assert STYLES[0] in _available(styles.json(), "styles")


async def test_a_malformed_advertisement_is_skipped_not_a_500(api, advertise):
    await advertise("test-worker-garbage", "{not json")
    await advertise("test-worker-wrong-shape", '{"themes": "nature", "mural_regions": ["lasso"]}')
    await advertise(
        "test-worker-newer",  # a newer worker's extra fields are ignored, not rejected
        '{"kinds": ["mural"], "themes": ["custom"], "mural_regions": ["mask"], "gpu": "H100"}',
    )
    themes = await api.get("/v1/themes")
    assert themes.status_code == 200, themes.text
    assert "custom" in _available(themes.json(), "themes")
    assert "lasso" not in themes.json()["regions"]
    styles = await api.get("/v1/styles")
    assert styles.status_code == 200, styles.text
