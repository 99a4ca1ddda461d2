"""The work-item read model and the queue queries over it."""
