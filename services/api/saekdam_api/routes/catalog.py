"""What each job kind accepts, for clients building their forms."""

from fastapi import APIRouter, Request

from saekdam_backbone.workers import live_workers
from saekdam_contracts.jobs import FILTER_NAMES, JOB_SPECS

from ..deps import SettingsDep
from ..domain import catalog

router = APIRouter(prefix="/v1", tags=["catalog"])


@router.get("/filters")
async def filters() -> dict:
    """The photo filters a `filter` job accepts."""
    return {"filters": [{"name": name} for name in FILTER_NAMES]}


@router.get("/kinds")
async def kinds(settings: SettingsDep) -> dict:
    """Every job kind with its params schema and the uploads it needs."""
    return {
        "kinds": [
            {
                "kind": spec.kind.value,
                "params_schema": spec.params.model_json_schema(),
                "uploads": {
                    role.value: {"min": lo, "max": hi} for role, (lo, hi) in spec.inputs.items()
                },
                "min_side": spec.limits.min_side,
                "max_side": spec.limits.max_side,
            }
            for spec in JOB_SPECS.values()
            if not spec.diagnostic or settings.enable_diagnostic_jobs
        ]
    }


@router.get("/themes")
async def themes(request: Request) -> dict:
    """Mural themes; `available` when a running worker has the models for it right now, else
    `reason` ({code, message}: no_worker, model_unavailable or theme_unavailable); and the
    region modes those workers can find a wall with (`mask` only when none has SAM)."""
    return catalog.themes(await live_workers(request.app.state.redis))


@router.get("/styles")
async def styles(request: Request) -> dict:
    """Sketch style presets; `available` when a running worker has the SDXL models, else
    `reason` ({code, message}: no_worker or model_unavailable)."""
    return catalog.styles(await live_workers(request.app.state.redis))
