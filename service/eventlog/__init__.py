"""The event log: the audit source of truth, append-only and hash-chained per stream.

`hashing` (the chain's arithmetic, standard library only), `chain` (appending an event to a stream by
compare-and-set on its head), `anchors` (daily digests over every stream's head, exported to be kept
elsewhere), `verify` (recomputing every hash and checking heads and anchors) and `offline` (the checks that need
no database, shared with the dossier check). Reporting on it (replay, point-in-time views, presentation,
dossiers) is `service/audit`, which imports this package and never the other way round.
"""
