"""One entry of the task-news stream (`TASK_NEWS_STREAM`): a state change worth telling.

`EventPublisher` writes the fields; the webhook and push deliverers read them back here.
"""

from pydantic import BaseModel

from .status import TaskStatus


class TaskNews(BaseModel):
    task_id: str
    status: TaskStatus
    seq: int

    def to_fields(self) -> dict[str, str]:
        return {"task_id": self.task_id, "status": str(self.status), "seq": str(self.seq)}

    @classmethod
    def from_fields(cls, fields: dict[bytes | str, bytes | str]) -> "TaskNews":
        """From a stream entry's fields as redis-py returns them (bytes keys and values)."""
        text = {
            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in fields.items()
        }
        return cls.model_validate(text)
