"""Which mural themes and sketch styles can be painted now, from what the live workers
advertise, and for each that cannot, why (a code and a sentence, as errors have)."""

from saekdam_contracts.capabilities import MURAL_REGIONS, WorkerCapabilities
from saekdam_contracts.jobs import STYLES, THEMES

NO_WORKER = "no_worker"


def _reason(code: str, message: str) -> dict:
    return {"code": code, "message": message}


def themes(workers: list[WorkerCapabilities]) -> dict:
    painters = [w for w in workers if "mural" in w.kinds or w.themes]
    ready = {t for w in painters for t in w.themes}

    def why(theme: str) -> dict | None:
        if theme in ready:
            return None
        if not painters:
            return _reason(NO_WORKER, "no worker that paints murals is running")
        if not ready:
            return _reason("model_unavailable", "no running mural worker has the inpainting model")
        return _reason("theme_unavailable", f"no running mural worker has the {theme!r} adapter")

    regions = {r for w in painters for r in w.mural_regions}
    return {
        "themes": [{"name": t, "available": t in ready, "reason": why(t)} for t in THEMES],
        "regions": [r for r in MURAL_REGIONS if r in regions],
    }


def styles(workers: list[WorkerCapabilities]) -> dict:
    sketchers = [w for w in workers if "sketch" in w.kinds or w.styles]
    ready = {s for w in sketchers for s in w.styles}

    def why(style: str) -> dict | None:
        if style in ready:
            return None
        if not sketchers:
            return _reason(NO_WORKER, "no worker that makes sketch pictures is running")
        return _reason("model_unavailable", "the running sketch workers lack the SDXL models")

    return {"styles": [{"name": s, "available": s in ready, "reason": why(s)} for s in STYLES]}
