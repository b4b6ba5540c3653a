"""`python -m saekdam_posture`: serve the posture service on HOST:PORT (127.0.0.1:8001)."""

import os

import uvicorn

if __name__ == "__main__":
    uvicorn.run(
        "saekdam_posture.app:create_app",
        factory=True,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8001")),
        proxy_headers=True,
        ws_ping_interval=20,
        ws_ping_timeout=20,
        # Frames are bounded by MAX_FRAME_BYTES in the route; this is the transport's cap.
        ws_max_size=8 * 1024 * 1024,
        log_config=None,
    )
