"""Pure image pipelines: numpy arrays in, numpy arrays out, no I/O beyond bytes."""
