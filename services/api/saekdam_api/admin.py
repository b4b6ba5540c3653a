"""Operator commands on accounts: `python -m saekdam_api.admin grant|revoke|disable|enable EMAIL`.

Reads DATABASE_URL like the API. `grant` makes the account an admin (may hide posts and
comments, edit or delete anyone's); `disable` stops its tokens from working at once.
"""

import argparse
import asyncio
import os
import sys

from sqlalchemy import update

from saekdam_backbone.db import create_engine, create_sessions, utcnow
from saekdam_backbone.settings import BackboneSettings
from saekdam_backbone.users import User

ACTIONS = {
    "grant": {"is_admin": True},
    "revoke": {"is_admin": False},
    "disable": {"disabled_at": "now"},
    "enable": {"disabled_at": None},
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m saekdam_api.admin", description=__doc__)
    parser.add_argument("action", choices=sorted(ACTIONS), help="what to do to the account")
    parser.add_argument("email", help="the account's email address")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or BackboneSettings().database_url,
        help="the API's database (default: DATABASE_URL, else the embedded SQLite file)",
    )
    return parser.parse_args(argv)


async def apply(database_url: str, action: str, email: str) -> bool:
    """True if an account with that email was changed."""
    values = {k: (utcnow() if v == "now" else v) for k, v in ACTIONS[action].items()}
    engine = create_engine(database_url)
    try:
        async with create_sessions(engine)() as session, session.begin():
            result = await session.execute(
                update(User).where(User.email == email.strip().lower()).values(**values)
            )
            return result.rowcount == 1
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not asyncio.run(apply(args.database_url, args.action, args.email)):
        print(f"no account with the email {args.email!r}", file=sys.stderr)
        return 1
    print(f"{args.action}: {args.email}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
