def moving_average(values, window):
    """The trailing mean of each position's last `window` values."""
    raise NotImplementedError("write me")
