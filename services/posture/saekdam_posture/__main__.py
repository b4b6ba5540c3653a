"""`python -m saekdam_posture`: serve the posture service on HOST:PORT (127.0.0.1:8001)."""

import os

import uvicorn

from saekdam_posture.settings import get_settings
from saekdam_web.serving import JsonErrorsHttpToolsProtocol, forwarding_options

if __name__ == "__main__":
    uvicorn.run(
        "saekdam_posture.app:create_app",
        factory=True,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8001")),
        # Forwarding headers from the proxy's address only (FORWARDED_ALLOW_IPS).
        **forwarding_options(),
        ws_ping_interval=20,
        ws_ping_timeout=20,
        # The transport's cap, well above the route's own frame limit so that an oversize
        # frame gets an error frame and the session goes on; past this the socket closes (1009).
        ws_max_size=max(8 * 1024 * 1024, 4 * get_settings().max_frame_bytes),
        log_config=None,
        # httptools, answering what it cannot parse in the services' error shape.
        http=JsonErrorsHttpToolsProtocol,
    )
