"""Model sources, device choice, loading (local only) and the download command."""
