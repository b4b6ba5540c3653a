"""Job handlers, one module per kind. Importing this package registers them all."""

from . import filter, mural, noop, panorama, sketch  # noqa: F401
