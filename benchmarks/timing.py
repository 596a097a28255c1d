"""Wall-clock timing for the benchmarks: one method alone, or several interleaved so that load from elsewhere on a
shared machine slows them all alike."""
import time
from typing import Callable, Dict, List, Tuple


def time_calls(call: Callable[[int], object], warmup: int, repeats: int) -> Tuple[List[float], List[object]]:
    """(milliseconds, output) of each of `repeats` calls call(0), call(1), ... after `warmup` untimed ones
    (also numbered from 0)."""
    for index in range(warmup):
        call(index)
    timings, outputs = [], []
    for index in range(repeats):
        start = time.perf_counter()
        outputs.append(call(index))
        timings.append((time.perf_counter() - start) * 1000.0)
    return timings, outputs


def time_interleaved(calls: Dict[str, Callable[[], object]], warmup: int, repeats: int) -> Dict[str, List[float]]:
    """Milliseconds of each named call over `repeats` rounds; every round runs each call once, in turn, after
    `warmup` untimed rounds. Round i of every method ran at nearly the same moment, so per-round ratios between
    methods hold up under changing load."""
    for _ in range(warmup):
        for call in calls.values():
            call()
    timings = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            timings[name].append((time.perf_counter() - start) * 1000.0)
    return timings
