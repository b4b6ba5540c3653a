"""The job message. Producer and consumer agree on this payload, not on classes."""

from pydantic import BaseModel


class JobMessage(BaseModel):
    task_id: str
    kind: str

    def to_fields(self) -> dict[str, str]:
        return {"task_id": self.task_id, "kind": self.kind}

    @classmethod
    def from_fields(cls, fields: dict) -> "JobMessage":
        decoded = {
            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in fields.items()
        }
        return cls.model_validate(decoded)
