"""`python -m saekdam_api`: serve the API with uvicorn on HOST:PORT (127.0.0.1:8000)."""

import os

import uvicorn

if __name__ == "__main__":
    uvicorn.run(
        "saekdam_api.app:create_app",
        factory=True,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        proxy_headers=True,
        ws_ping_interval=20,
        ws_ping_timeout=20,
        # Clients send only auth and ping frames; anything bigger is a mistake or an attack.
        ws_max_size=64 * 1024,
        log_config=None,
    )
