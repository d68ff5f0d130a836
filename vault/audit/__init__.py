"""The tamper-evident audit log.

merkle       RFC 6962 / 9162 hashing, proofs and verification (pure)
note         C2SP signed notes and tlog checkpoints (pure)
proof        C2SP tlog-proof text (pure)
verify       offline checks of proofs and checkpoints, for anyone holding a receipt (pure)
events       the event types: one definition each, with the details it carries (pure)
auditor      the vault's full check of its log from copies of its rows (pure)
consistency  whether a newer checkpoint extends one kept by the owner or a requester
log          AuditLog: the log persisted in the catalog, with a full self-verification
workers      the processes that check spans of a large log for AuditLog.verify

Only ``log`` and ``workers`` touch the database; the rest is what a third party needs.
"""
