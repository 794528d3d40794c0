"""The full sync sharded over a task queue: planning, shard execution, one deletion per scope."""
