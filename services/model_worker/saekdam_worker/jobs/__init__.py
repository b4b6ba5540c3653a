"""Job handlers, one module per kind. Importing this package registers them all."""

from . import filter, noop, panorama  # noqa: F401
