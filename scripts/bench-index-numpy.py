"""The numpy peer of the embedded index bench (scripts/bench.js): exact top-3 cosine search by one
float32 matrix-vector product over the same shape of data (random Gaussian 512-d rows, L2-normalised,
90% of them in the queried tenant, the others masked out), and the time to load the matrix back from
an .npy file. Prints one JSON line. Usage: python3 scripts/bench-index-numpy.py SIZE [QUERIES]
"""
import json
import os
import resource
import sys
import tempfile
import time

import numpy as np

DIMENSION = 512


def rss_mb() -> float:
    with open('/proc/self/statm') as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf('SC_PAGE_SIZE') / 2**20


def main() -> None:
    size = int(sys.argv[1])
    queries = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    rng = np.random.default_rng(size)
    matrix = rng.standard_normal((size, DIMENSION), dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    other_tenant = np.arange(size) % 10 == 0

    with tempfile.TemporaryDirectory(prefix='adseed-numpy-bench-') as tmp:
        path = os.path.join(tmp, 'vectors.npy')
        np.save(path, matrix)
        del matrix
        started = time.perf_counter()
        matrix = np.load(path)
        load_ms = (time.perf_counter() - started) * 1000

    def search(q: np.ndarray) -> np.ndarray:
        scores = matrix @ q
        scores[other_tenant] = -np.inf
        top = np.argpartition(-scores, 3)[:3]
        return top[np.argsort(-scores[top])]

    times = []
    for i in range(20 + queries):
        q = rng.standard_normal(DIMENSION, dtype=np.float32)
        q /= np.linalg.norm(q)
        started = time.perf_counter()
        search(q)
        if i >= 20:
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    at = lambda p: times[min(len(times) - 1, int(p * len(times)))]
    print(json.dumps({
        'size': size, 'p50Ms': round(at(0.5), 2), 'p99Ms': round(at(0.99), 2), 'loadMs': round(load_ms),
        'rssMb': round(rss_mb()), 'peakRssMb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        'numpy': np.__version__,
    }))


if __name__ == '__main__':
    main()
