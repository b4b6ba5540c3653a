"""What tells people a task moved when they are not watching: webhooks and Web Push.

The API stores endpoints and subscriptions; workers deliver (never inline in a job), fed by
the task-news stream that `EventPublisher` writes for every state change worth telling.
"""
