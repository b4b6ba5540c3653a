"""`python -m saekdam_api`: serve the API with uvicorn on HOST:PORT (127.0.0.1:8000).

ACCESS_LOG=true logs every request (off by default: a JSON line per request costs more CPU
than a cheap request itself; the proxy in front keeps an access log where one is wanted)."""

import os

import uvicorn

from saekdam_web.serving import JsonErrorsHttpToolsProtocol, forwarding_options

if __name__ == "__main__":
    uvicorn.run(
        "saekdam_api.app:create_app",
        factory=True,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        # Forwarding headers from the proxy's address only (FORWARDED_ALLOW_IPS).
        **forwarding_options(),
        ws_ping_interval=20,
        ws_ping_timeout=20,
        # Clients send only auth and ping frames; anything bigger is a mistake or an attack.
        ws_max_size=64 * 1024,
        # Sans-I/O websockets: no tasks of its own per connection. No permessage-deflate:
        # frames are a few hundred bytes of JSON, and a zlib pair per socket costs ~40 KiB
        # and a compression per frame per socket.
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        log_config=None,
        access_log=os.environ.get("ACCESS_LOG", "false").lower() in ("1", "true", "yes"),
        # uvloop is a dependency; named so a missing one fails loudly.
        loop="uvloop",
        # httptools (a dependency), answering what it cannot parse in the error shape.
        http=JsonErrorsHttpToolsProtocol,
    )
