"""The audit result: running the audit, its tables, and the sentences that describe it."""
