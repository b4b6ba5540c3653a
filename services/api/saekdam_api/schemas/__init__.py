"""Request and response bodies of the v1 client contract (see shared/brief/protocol.md):
auth, users, tasks and uploads here; the board, webhooks and push in their own modules."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from saekdam_contracts.jobs import JOB_SPECS, UploadRole
from saekdam_contracts.status import TaskStatus
from saekdam_contracts.tasks import TaskView


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterIn(Body):
    email: EmailStr
    username: str = Field(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    password: str = Field(min_length=8, max_length=128)


class LoginIn(Body):
    email: EmailStr
    password: str = Field(min_length=1, max_length=128)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class UserOut(BaseModel):
    id: str
    email: str | None
    username: str
    is_guest: bool
    created_at: datetime


class TaskCreated(BaseModel):
    task_id: str
    status: TaskStatus


class UploadIn(Body):
    role: UploadRole
    content_type: str = Field(max_length=64)
    size: int = Field(gt=0, description="Size of the file in bytes")


class UploadOut(BaseModel):
    upload_id: str
    key: str
    url: str
    fields: dict[str, str]
    expires_at: datetime
    max_bytes: int

    @classmethod
    def of(cls, upload, form) -> "UploadOut":
        """An upload slot (db row) and its presigned form, as the client gets them."""
        return cls(
            upload_id=upload.id,
            key=upload.key,
            url=form.url,
            fields=form.fields,
            expires_at=form.expires_at,
            max_bytes=upload.max_bytes,
        )


class SubmitIn(Body):
    # A closed set, documented as one; an unknown kind is still answered by the domain with
    # its own code (`unknown_kind`), as before.
    kind: str = Field(max_length=32, json_schema_extra={"enum": sorted(JOB_SPECS)})
    params: dict[str, Any] = Field(default_factory=dict)


class TaskOut(TaskView):
    """A task as its owner sees it (the same view webhooks carry as `data`)."""


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None
