"""Timing helpers shared by the benchmarks: medians of repeated runs, ratio tables."""
import statistics
import time


def median_seconds(fn, repeat=7, number=None, min_time=0.05):
    """Median time of one call of `fn`, from `repeat` runs of `number` calls each
    (`number` is chosen so that one run takes at least `min_time`)."""
    fn()  # warm-up
    if number is None:
        number, elapsed = 1, 0.0
        while True:
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            elapsed = time.perf_counter() - t0
            if elapsed >= min_time:
                break
            number *= 2
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - t0) / number)
    return statistics.median(runs)


def table(rows, header):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths))]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)
