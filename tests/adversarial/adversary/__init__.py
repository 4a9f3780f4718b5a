"""Helpers of the adversarial suite: the catalogue, the harness and the host guard."""
