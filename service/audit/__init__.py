"""Audit reporting on the event log (service/eventlog): replay and point-in-time views (`replay`), the
history as people read it (`presentation`), dossiers (`dossier`, checked offline; `dossier_export` makes them)
and auditors' reads (`reads`)."""
