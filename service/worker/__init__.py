"""Background processing: timers."""
