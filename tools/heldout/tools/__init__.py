"""heldout.tools: benchmarks and deployment helpers, outside the product (``heldout bench``,
``heldout deploy``); the command line is the only way in, and nothing of heldout imports it."""
