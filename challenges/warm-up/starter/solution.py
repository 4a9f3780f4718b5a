def median(values):
    """The middle value of ``values`` (see the statement)."""
    return values[len(values) // 2]
