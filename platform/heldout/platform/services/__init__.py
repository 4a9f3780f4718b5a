"""Use cases of the platform. Each public function is one transaction, committed inside.

Views, the CLI and the worker call these; none of them receives a Flask ``request``.
"""
