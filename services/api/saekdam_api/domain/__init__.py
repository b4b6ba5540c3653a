"""Domain services: what the routes call. They raise ApiError subclasses, never HTTP types."""
