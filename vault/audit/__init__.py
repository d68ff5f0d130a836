"""The tamper-evident audit log.

merkle  RFC 6962 / 9162 hashing, proofs and verification (pure)
note    C2SP signed notes and tlog checkpoints (pure)
proof   C2SP tlog-proof text (pure)
verify  offline checks of proofs and checkpoints, for anyone holding a receipt
log     AuditLog: the log persisted in the catalog, with a full self-verification

Only ``log`` touches the database; the rest is what a third party needs.
"""
