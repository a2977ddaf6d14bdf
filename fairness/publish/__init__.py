"""Disclosure control and publication: suppression, the protected result, privacy and pseudonymisation."""
