"""What the object-store peers share: the knobs, the phases, the timing and the CPU accounting
of object-store-bench, so every peer prints the same JSON keys as the Swift bench.

    <peer>.py ENDPOINT BUCKET PREFIX WORKDIR     (credentials from AWS_* env)

Phases, in this order, each timed on its own (seconds, wall clock):
    small_put_c1, small_get_c1   1 KiB x BENCH_SMALL_COUNT (2000), one at a time
    small_put, small_get         the same, BENCH_CONCURRENCY (16) at a time
    large_put, large_get         BENCH_LARGE_MIB (64) MiB x BENCH_LARGE_COUNT (4), one object after the other
    huge_put, huge_get           one object of BENCH_HUGE_MIB (1024) MiB
and for each `<phase>_client_cpu` (the client's user+system CPU seconds during the phase) and,
with BENCH_SERVER_PID, `<phase>_server_cpu` (the server process's).
BENCH_PHASES (a comma list) runs only those phases; a GET phase whose PUT is not selected
uploads its objects first, untimed. The Swift bench's large_put_known / large_get_key select
large_put / large_get here, the rows the report compares them with.
"""
import json
import os
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor

PHASES = ("small_put_c1", "small_get_c1", "small_put", "small_get", "large_put", "large_get", "huge_put", "huge_get")
SMALL = bytes((i * 31) & 0xFF for i in range(1024))


class Harness:
    def __init__(self, argv, client_cpu_of_children_only=False):
        if len(argv) != 5:
            sys.exit(f"usage: {os.path.basename(argv[0])} ENDPOINT BUCKET PREFIX WORKDIR")
        self.endpoint, self.bucket, self.prefix, self.work = argv[1:5]
        env = os.environ
        self.region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.small_count = int(env.get("BENCH_SMALL_COUNT", "2000"))
        self.large_count = int(env.get("BENCH_LARGE_COUNT", "4"))
        self.large_size = int(env.get("BENCH_LARGE_MIB", "64")) << 20
        self.huge_size = int(env.get("BENCH_HUGE_MIB", "1024")) << 20
        self.concurrency = int(env.get("BENCH_CONCURRENCY", "16"))
        self.server_pid = env.get("BENCH_SERVER_PID") or None
        self.children_only = client_cpu_of_children_only
        selected = None
        if env.get("BENCH_PHASES"):
            selected = set(env["BENCH_PHASES"].split(","))
            selected |= {"large_put"} if "large_put_known" in selected else set()
            selected |= {"large_get"} if "large_get_key" in selected else set()
        self.selected = selected
        self.results = {}
        self.get_dir = os.path.join(self.work, "get")
        os.makedirs(self.get_dir, exist_ok=True)

    # Keys and files ------------------------------------------------------------------------

    def small_key(self, concurrent, i):
        return f"{self.prefix}{'small' if concurrent else 'small-c1'}/{i}"

    def small_target(self, concurrent, i):
        return os.path.join(self.get_dir, f"{'small' if concurrent else 'small-c1'}-{i}")

    def each(self, concurrent, operation, indices):
        """Runs operation(i) for every index: one at a time, or `concurrency` at once on threads."""
        if not concurrent:
            for i in indices:
                operation(i)
            return
        with ThreadPoolExecutor(self.concurrency) as pool:
            for _ in pool.map(operation, indices):
                pass

    def large_key(self, i):
        return f"{self.prefix}large/{i}"

    def huge_key(self):
        return f"{self.prefix}huge"

    def large_files(self):
        return [self._random_file(f"large-{i}.bin", self.large_size) for i in range(self.large_count)]

    def huge_file(self):
        return self._random_file("huge.bin", self.huge_size)

    def _random_file(self, name, size):
        path = os.path.join(self.work, name)
        if not (os.path.exists(path) and os.path.getsize(path) == size):
            with open(path, "wb") as f:
                left = size
                while left:
                    n = min(left, 64 << 20)
                    f.write(os.urandom(n))
                    left -= n
        return path

    # Measuring ----------------------------------------------------------------------------

    def wants(self, phase):
        return self.selected is None or phase in self.selected

    def server_cpu(self):
        if not self.server_pid:
            return None
        try:
            with open(f"/proc/{self.server_pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def client_cpu(self):
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds = usage.ru_utime + usage.ru_stime
        if not self.children_only:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            seconds += usage.ru_utime + usage.ru_stime
        return seconds

    def timed(self, phase, body):
        server, client = self.server_cpu(), self.client_cpu()
        start = time.perf_counter()
        body()
        self.results[phase] = time.perf_counter() - start
        self.results[phase + "_client_cpu"] = self.client_cpu() - client
        after = self.server_cpu()
        if server is not None and after is not None:
            self.results[phase + "_server_cpu"] = after - server

    def remove(self, paths):
        """What an earlier round fetched goes first, so a GET that writes nothing cannot pass the size check."""
        for path in paths:
            try:
                os.remove(path)
            except FileNotFoundError:
                pass

    def check_sizes(self, phase, paths, size):
        for path in paths:
            if os.path.getsize(path) != size:
                raise SystemExit(f"{phase}: {path} has {os.path.getsize(path)} bytes, not {size}")

    def run(self, client):
        """Runs the selected phases through `client`, which has put_small(concurrent, indices),
        get_small(concurrent, indices), put_files([(path, key)]), get_files([(key, path)]) and
        optionally prepare(phase, arguments) (untimed work before a phase, e.g. a command file)."""
        prepare = getattr(client, "prepare", lambda phase, arguments: None)
        small = range(self.small_count)
        for concurrent in (False, True):
            put, get = ("small_put", "small_get") if concurrent else ("small_put_c1", "small_get_c1")
            if self.wants(put) or self.wants(get):
                prepare(put, (concurrent, small))
                if self.wants(put):
                    self.timed(put, lambda: client.put_small(concurrent, small))
                else:
                    client.put_small(concurrent, small)
            if self.wants(get):
                self.remove([self.small_target(concurrent, i) for i in small])
                prepare(get, (concurrent, small))
                self.timed(get, lambda: client.get_small(concurrent, small))
                self.check_sizes(get, [self.small_target(concurrent, i) for i in small], len(SMALL))
        for put, get, size in (("large_put", "large_get", self.large_size), ("huge_put", "huge_get", self.huge_size)):
            if not (self.wants(put) or self.wants(get)):
                continue
            if put == "large_put":
                files = self.large_files()
                keys = [self.large_key(i) for i in range(self.large_count)]
                targets = [os.path.join(self.get_dir, f"large-{i}") for i in range(self.large_count)]
            else:
                files, keys, targets = [self.huge_file()], [self.huge_key()], [os.path.join(self.get_dir, "huge")]
            uploads, downloads = list(zip(files, keys)), list(zip(keys, targets))
            prepare(put, uploads)
            if self.wants(put):
                self.timed(put, lambda: client.put_files(uploads))
            else:
                client.put_files(uploads)
            if self.wants(get):
                self.remove(targets)
                prepare(get, downloads)
                self.timed(get, lambda: client.get_files(downloads))
                self.check_sizes(get, targets, size)
        print(json.dumps(self.results, sort_keys=True), flush=True)
