"""`python -m saekdam_api.openapi_document [PATH]`: the API's OpenAPI document as the web
client's types are generated from it (services/web/src/api/api.openapi.json by default).

Built from the app factory alone, with no connection opened; the settings are the embedded
defaults (local storage, so the signed upload routes are in it), with a throw-away secret
that signs nothing.
"""

import json
import sys
from pathlib import Path

from .app import create_app
from .settings import ApiSettings

SNAPSHOT = Path(__file__).resolve().parents[2] / "web" / "src" / "api" / "api.openapi.json"


def document() -> dict:
    settings = ApiSettings(jwt_secret="openapi-document-only-" + "x" * 32, storage_backend="local")
    return create_app(settings).openapi()


def render(spec: dict) -> str:
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else SNAPSHOT
    target.write_text(render(document()), encoding="utf-8")
    print(f"wrote {target}")
