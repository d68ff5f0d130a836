"""A witness for ringfence audit logs (C2SP tlog-witness and tlog-cosignature).

A witness runs on another device. It remembers, per log, the latest checkpoint
it cosigned, and cosigns a new one only when a consistency proof shows that it
extends that one. A vault that collects cosignatures can later show that its
log was never cut back or forked behind the witness's back.

``cosignature`` (keys and signatures) and ``protocol`` (the request and reply
bodies, the client side of the exchange) are pure; ``state`` keeps the
witness's key and records in its folder; ``witness`` is the decision;
``server`` is the HTTP front end. Nothing here needs a vault.
"""
