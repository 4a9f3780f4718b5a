"""heldout.platform: the web app, persistence and job queue of heldout."""
