"""The batch pipeline: upload stages, the per-file conversion steps, executors."""
