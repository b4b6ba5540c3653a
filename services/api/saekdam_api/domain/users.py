import asyncio
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from saekdam_web.errors import Conflict, Unauthorized

from ..db.models import User
from ..security import hash_password, verify_password


class UserService:
    def __init__(self, sessions: async_sessionmaker):
        self._sessions = sessions

    async def register(self, email: str, username: str, password: str) -> User:
        user = User(
            id=str(uuid.uuid4()),
            email=email.lower(),
            username=username,
            password_hash=await asyncio.to_thread(hash_password, password),
        )
        try:
            async with self._sessions() as session, session.begin():
                session.add(user)
        except IntegrityError as exc:
            raise await self._which_taken(user) from exc
        return user

    async def _which_taken(self, user: User) -> Conflict:
        async with self._sessions() as session:
            email = await session.scalar(select(User.id).where(User.email == user.email))
        if email is not None:
            return Conflict("email_taken", "an account with this email already exists")
        return Conflict("username_taken", f"the username {user.username!r} is taken")

    async def create_guest(self) -> User:
        user_id = str(uuid.uuid4())
        user = User(id=user_id, username=f"guest-{user_id.replace('-', '')[:16]}", is_guest=True)
        async with self._sessions() as session, session.begin():
            session.add(user)
        return user

    async def authenticate(self, email: str, password: str) -> User:
        async with self._sessions() as session:
            user = await session.scalar(select(User).where(User.email == email.lower()))
        # argon2 is deliberately slow: keep it off the event loop.
        stored_hash = user.password_hash if user else None
        if not await asyncio.to_thread(verify_password, stored_hash, password):
            raise Unauthorized("invalid_credentials", "the email or password is wrong")
        return user

    async def get(self, user_id: str) -> User | None:
        async with self._sessions() as session:
            return await session.get(User, user_id)
