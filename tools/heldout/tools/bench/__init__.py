"""``heldout bench …``: figures measured against a baseline in the same run, never pass/fail.

Nothing is imported here: ``python -m heldout.tools.bench.burst load`` must reach Locust
before any other module loads.
"""
