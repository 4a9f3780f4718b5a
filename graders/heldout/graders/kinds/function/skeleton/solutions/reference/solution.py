def moving_average(values, window):
    """The trailing mean of each position's last `window` values."""
    means = []
    for i in range(len(values)):
        part = values[max(0, i - window + 1):i + 1]
        means.append(sum(part) / len(part))
    return means
