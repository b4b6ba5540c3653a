from fastapi import APIRouter, Request

router = APIRouter(prefix="/v1", tags=["tasks"])


@router.get("/queue")
async def queue(request: Request) -> dict:
    """Per job kind: tasks waiting and running, workers online, median wait and run times
    (measured, in seconds; null until a job of the kind has run)."""
    return await request.app.state.queue_status.overview()
