"""Request and response bodies of the board (protocol.md, "Board" and "Board additions")."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from . import Body


def _title(**default):
    return Field(min_length=5, max_length=100, examples=["Whales on the school wall"], **default)


def _post_body(**default):
    return Field(max_length=5000, examples=["Ocean theme. 벽화를 그렸어요!"], **default)


COMMENT_BODY = Field(min_length=1, max_length=1000, examples=["Love the colours!"])


class ImageIn(Body):
    """Either a COMPLETED task of yours (`result_index` picks among its images) or an
    upload made with `POST /v1/posts/uploads`."""

    task_id: str | None = Field(default=None, max_length=36)
    upload_id: str | None = Field(default=None, max_length=36)
    result_index: int = Field(default=0, ge=0, le=9)

    @model_validator(mode="after")
    def _exactly_one_source(self) -> "ImageIn":
        if (self.task_id is None) == (self.upload_id is None):
            raise ValueError("give exactly one of task_id or upload_id")
        return self


class PostIn(Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Whales on the school wall",
                    "body": "Ocean theme, auto wall.",
                    "images": [{"task_id": "0b6f0c59-6a43-4a55-9f0e-8f3f0c2b4b1e"}],
                }
            ]
        },
    )

    title: str = _title()
    body: str = _post_body(default="")
    images: list[ImageIn] = Field(min_length=1, max_length=10)


class PostPatch(Body):
    title: str | None = _title(default=None)
    body: str | None = _post_body(default=None)


class PostUploadIn(Body):
    content_type: str = Field(max_length=64, examples=["image/jpeg"])
    size: int = Field(gt=0, description="Size of the file in bytes")


class CommentIn(Body):
    body: str = COMMENT_BODY


class RemixIn(Body):
    keep_seed: bool = False


class ReportIn(Body):
    reason: str = Field(min_length=1, max_length=500, examples=["spam"])


class ImageFile(BaseModel):
    url: str
    content_type: str
    width: int
    height: int


class PostImageOut(ImageFile):
    thumbnail: ImageFile


class Author(BaseModel):
    username: str


class MadeWith(BaseModel):
    kind: str
    theme: str | None = None
    style: str | None = None
    prompt: str | None = None
    seed: int | None = None


class PostOut(BaseModel):
    post_id: str
    title: str
    body: str
    author: Author
    images: list[PostImageOut]
    made_with: MadeWith | None
    like_count: int
    comment_count: int
    view_count: int
    liked_by_me: bool
    hidden: bool = False
    created_at: datetime
    updated_at: datetime


class PostPage(BaseModel):
    items: list[PostOut]
    next_cursor: str | None


class LikeOut(BaseModel):
    post_id: str
    liked: bool
    like_count: int


class CommentOut(BaseModel):
    comment_id: str
    post_id: str
    author: Author
    body: str
    created_at: datetime
    updated_at: datetime


class CommentPage(BaseModel):
    items: list[CommentOut]
    next_cursor: str | None


class RemixOut(BaseModel):
    task_id: str
    status: str
    kind: str
    params: dict[str, Any]


class ReportOut(BaseModel):
    report_id: str
    post_id: str
    status: Literal["received"] = "received"


class ProfileOut(BaseModel):
    username: str
    joined: datetime
    post_count: int
