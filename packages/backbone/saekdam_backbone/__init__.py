"""The task backbone shared by the API and the workers."""
