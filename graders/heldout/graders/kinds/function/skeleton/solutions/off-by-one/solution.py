def moving_average(values, window):
    """The mean of the `window` values starting at each position (the wrong way round)."""
    means = []
    for i in range(len(values)):
        part = values[i:i + window]
        means.append(sum(part) / len(part))
    return means
