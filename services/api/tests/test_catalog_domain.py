"""Why a theme or a style cannot be painted now, from what the live workers advertise."""

from saekdam_api.domain import catalog
from saekdam_contracts.capabilities import WorkerCapabilities
from saekdam_contracts.jobs import STYLES


def _reasons(body: dict, field: str) -> dict:
    return {e["name"]: e["reason"] and e["reason"]["code"] for e in body[field]}


def test_with_no_worker_every_theme_and_style_says_nobody_runs_them():
    assert set(_reasons(catalog.themes([]), "themes").values()) == {"no_worker"}
    assert set(_reasons(catalog.styles([]), "styles").values()) == {"no_worker"}
    assert catalog.themes([])["regions"] == []


def test_a_mural_worker_without_models_and_one_without_an_adapter_say_so():
    bare = WorkerCapabilities(kinds=["mural", "sketch"])
    assert set(_reasons(catalog.themes([bare]), "themes").values()) == {"model_unavailable"}
    assert set(_reasons(catalog.styles([bare]), "styles").values()) == {"model_unavailable"}

    ocean = WorkerCapabilities(
        kinds=["mural"], themes=["ocean", "custom"], mural_regions=["points"]
    )
    reasons = _reasons(catalog.themes([bare, ocean]), "themes")
    assert reasons["ocean"] is None and reasons["custom"] is None
    assert reasons["space"] == "theme_unavailable"
    body = catalog.themes([bare, ocean])
    space = next(e for e in body["themes"] if e["name"] == "space")
    assert space == {
        "name": "space",
        "available": False,
        "reason": {
            "code": "theme_unavailable",
            "message": "no running mural worker has the 'space' adapter",
        },
    }
    assert body["regions"] == ["points"]


def test_a_sketch_worker_with_the_models_has_every_style():
    worker = WorkerCapabilities(kinds=["sketch"], styles=list(STYLES))
    assert set(_reasons(catalog.styles([worker]), "styles").values()) == {None}
