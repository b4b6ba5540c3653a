"""Object storage key layout. Keys are always chosen here, never by a client."""


def task_upload_key(user_id: str, task_id: str, upload_id: str) -> str:
    return f"uploads/{user_id}/{task_id}/{upload_id}"


def post_upload_key(user_id: str, upload_id: str) -> str:
    return f"uploads/{user_id}/posts/{upload_id}"


def task_input_key(task_id: str, upload_id: str) -> str:
    # The verified copy a job reads. Only the server writes here, so a client re-posting to
    # its upload form after submit cannot swap what the worker gets.
    return f"inputs/{task_id}/{upload_id}"


def result_prefix(task_id: str, attempt: int) -> str:
    # The attempt is part of the key so a zombie attempt can never overwrite the winner's result.
    return f"results/{task_id}/{attempt}/"


def result_key(task_id: str, attempt: int, name: str) -> str:
    return result_prefix(task_id, attempt) + name


def post_image_key(post_id: str, image_id: str, name: str) -> str:
    # A post's own copy: it outlives the task (retention, account clean-up) it came from.
    return f"board/{post_id}/{image_id}/{name}"


def post_prefix(post_id: str) -> str:
    return f"board/{post_id}/"


def user_upload_prefix(user_id: str) -> str:
    return f"uploads/{user_id}/"


def task_input_prefix(task_id: str) -> str:
    return f"inputs/{task_id}/"


def task_results_prefix(task_id: str) -> str:
    return f"results/{task_id}/"
