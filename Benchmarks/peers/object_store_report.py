"""The object-store part of `make bench`, reported: the runs of object-store-bench (swift) and
of its peers (boto3, crt, s5cmd) over several rounds, as medians, ratios and CPU seconds.

    python3 object_store_report.py RUNS.jsonl OUT.json

RUNS.jsonl: one line a run, {"round": n, "client": name, "result": <the client's JSON object>}.
Prints the tables and writes every row (with each round's numbers) to OUT.json. The sizes come
from the same environment as the clients' (BENCH_SMALL_COUNT, BENCH_LARGE_COUNT,
BENCH_LARGE_MIB, BENCH_HUGE_MIB, BENCH_CONCURRENCY); BENCH_SERVER_PID names the server, whose
version is asked of its executable. Standard library only.
"""
import json
import os
import statistics
import subprocess
import sys
import textwrap

CLIENTS = ("swift", "boto3", "crt", "s5cmd")
THIS = "swift"
# The Swift bench's phases with no counterpart in the peers, and the peer phase each is compared with.
PEER_PHASE = {"large_put_known": "large_put", "large_get_key": "large_get"}
GIB = 1 << 30


def main():
    runs_path, out_path = sys.argv[1:3]
    env = os.environ
    small = int(env.get("BENCH_SMALL_COUNT", "2000"))
    large = int(env.get("BENCH_LARGE_COUNT", "4"))
    mib = int(env.get("BENCH_LARGE_MIB", "64"))
    huge = int(env.get("BENCH_HUGE_MIB", "1024"))
    concurrency = int(env.get("BENCH_CONCURRENCY", "16"))
    with open(runs_path) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    clients = [c for c in CLIENTS if any(r["client"] == c for r in runs)]
    rounds = sorted({r["round"] for r in runs})
    by = {(r["client"], r["round"]): r["result"] for r in runs}

    # (label, phase, count, bytes an operation, unit)
    specs = [
        ("PUT 1 KiB c1", "small_put_c1", small, 1024, "ops/s"),
        ("GET 1 KiB c1", "small_get_c1", small, 1024, "ops/s"),
        (f"PUT 1 KiB c{concurrency}", "small_put", small, 1024, "ops/s"),
        (f"GET 1 KiB c{concurrency}", "small_get", small, 1024, "ops/s"),
        (f"PUT {mib} MiB", "large_put", large, mib << 20, "MiB/s"),
        (f"PUT {mib} MiB*", "large_put_known", large, mib << 20, "MiB/s"),
        (f"GET {mib} MiB", "large_get", large, mib << 20, "MiB/s"),
        (f"GET {mib} MiB†", "large_get_key", large, mib << 20, "MiB/s"),
        (f"PUT {huge} MiB", "huge_put", 1, huge << 20, "MiB/s"),
        (f"GET {huge} MiB", "huge_get", 1, huge << 20, "MiB/s"),
    ]

    def key_of(client, phase):
        return phase if client == THIS else PEER_PHASE.get(phase, phase)

    def values(client, key):
        return [by[(client, n)][key] for n in rounds if (client, n) in by and key in by[(client, n)]]

    def median(client, key):
        found = values(client, key)
        return statistics.median(found) if found else None

    rows = []
    for label, phase, count, size, unit in specs:
        if phase in PEER_PHASE and THIS not in clients:
            continue  # a row of swift's own, the peers' numbers are in the row it is compared with
        total = count * size
        row = {"operation": label, "phase": phase, "count": count, "bytes": total, "unit": unit, "clients": {},
               "ratios": {}}
        for client in clients:
            key = key_of(client, phase)
            seconds = median(client, key)
            if seconds is None:
                continue
            client_cpu = median(client, key + "_client_cpu")
            row["clients"][client] = {
                "phase": key,
                "seconds": seconds,
                "seconds_by_round": values(client, key),
                "ops_per_s": count / seconds,
                "mib_per_s": total / seconds / (1 << 20),
                "server_cpu_s": median(client, key + "_server_cpu"),
                "client_cpu_s": client_cpu,
                "client_cpu_s_per_gib": client_cpu / (total / GIB) if client_cpu is not None else None,
            }
        this = row["clients"].get(THIS)
        for peer, measured in row["clients"].items():
            if peer == THIS or this is None:
                continue
            # Each round's own ratio too: how far the server's drift moves it.
            each = [by[(peer, n)][measured["phase"]] / by[(THIS, n)][phase] for n in rounds
                    if (THIS, n) in by and (peer, n) in by and phase in by[(THIS, n)]
                    and measured["phase"] in by[(peer, n)]]
            row["ratios"][peer] = {"median": measured["seconds"] / this["seconds"],
                                   "lowest": min(each) if each else None, "highest": max(each) if each else None}
        if row["clients"]:
            rows.append(row)

    server = server_name(env.get("BENCH_SERVER_PID"))
    orders = [[r["client"] for r in runs if r["round"] == n] for n in rounds]
    report = {"server": server, "rounds": len(rounds), "order_by_round": orders, "concurrency": concurrency,
              "clients": clients, "rows": rows, "runs": runs}
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w") as f:
        json.dump(report, f, indent=1, sort_keys=True)
        f.write("\n")
    print_tables(report, mib)
    print(f"all rows and each round's numbers: {out_path}")
    # The gate's rows (Benchmarks/bench_gate.py): each operation against each peer, medians.
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import bench_gate
    bench_gate.record(os.path.dirname(os.path.abspath(out_path)), "objects", {
        f"{row['operation']} vs {peer}": ratio["median"] for row in rows for peer, ratio in row["ratios"].items()})


def server_name(pid):
    """`SeaweedFS 4.48` when the server process is a weed binary that tells its version."""
    if not pid:
        return "SeaweedFS"
    try:
        executable = os.readlink(f"/proc/{pid}/exe")
        words = subprocess.run([executable, "version"], capture_output=True, text=True, timeout=10).stdout.split()
        # "version 8000GB 4.48 pypi linux amd64"
        if os.path.basename(executable) == "weed" and len(words) > 2 and words[0] == "version":
            return f"SeaweedFS {words[2]}"
    except (OSError, subprocess.SubprocessError):
        pass
    return "SeaweedFS"


def note(text):
    """A footnote, wrapped to the tables' width; a leading newline stays a blank line."""
    print(("\n" if text.startswith("\n") else "") + textwrap.fill(text.lstrip("\n"), 125))


def print_tables(report, mib):
    clients, rows = report["clients"], report["rows"]
    peers = [c for c in clients if c != THIS]
    orders = ", ".join("/".join(order) for order in report["order_by_round"])
    print(f"\nObject store against {report['server']}'s S3 API (one process: master, volume, filer and S3 gateway; "
          f"signatures checked), same run,\nmedian of {report['rounds']} round{'s' if report['rounds'] != 1 else ''},"
          f" the clients taking turns ({orders})")

    def number(v, width, digits=1):
        return f"{v:>{width}.{digits}f}" if v is not None else f"{'-':>{width}}"

    head = f"{'operation':<15} {'count':>5} {'unit':>5} |" + "".join(f" {c:>8}" for c in clients)
    if THIS in clients and peers:
        head += " |" + "".join(f" {THIS + ' vs ' + p:>19}" for p in peers)
    print(head)
    for row in rows:
        line = f"{row['operation']:<15} {row['count']:>5} {row['unit']:>5} |"
        for c in clients:
            m = row["clients"].get(c)
            line += " " + number((m["ops_per_s"] if row["unit"] == "ops/s" else m["mib_per_s"]) if m else None, 8)
        if THIS in clients and peers:
            line += " |"
            for p in peers:
                r = row["ratios"].get(p)
                if r is None:
                    line += f" {'-':>19}"
                else:
                    spread = f"{r['lowest']:.2f}-{r['highest']:.2f}" if r["lowest"] is not None else "-"
                    line += f" {r['median']:>7.2f}x {spread:>10}"
        print(line)
    if THIS in clients and peers:
        note(f"ratio = the peer's time / {THIS}'s time, of the medians (above 1: {THIS} is faster), then the lowest and"
              " highest ratio of single rounds")

    print(f"\nCPU seconds per phase (median): the server's, the client's own (user+system), the client's per GiB moved")
    group = lambda title: f" {title:^{9 * len(clients) - 1}} |"
    print(f"{'':<15} {'':>5} {'':>5} |" + group("server CPU s") + group("client CPU s") + group("client CPU s/GiB"))
    print(f"{'operation':<15} {'count':>5} {'':>5} |" + ("".join(f" {c:>8}" for c in clients) + " |") * 3)
    for row in rows:
        line = f"{row['operation']:<15} {row['count']:>5} {'':>5} |"
        for field, digits in (("server_cpu_s", 2), ("client_cpu_s", 2), ("client_cpu_s_per_gib", 2)):
            for c in clients:
                m = row["clients"].get(c)
                line += " " + number(m[field] if m else None, 8, digits)
            line += " |"
        print(line)
    note("client CPU: swift, boto3 and crt: the bench process's own (getrusage, all threads); s5cmd: its processes'"
          " (RUSAGE_CHILDREN)")
    note("\nswift also hashes every object whole (x-amz-meta-sha256 on PUT, verified on GET). On plain http, boto3"
          " signs each PUT body's SHA-256 and sends its CRC32 (checked on GET); crt sends UNSIGNED-PAYLOAD with a"
          " CRC32 trailer (aws-chunked) and checks it on GET; s5cmd signs the SHA-256 and sends a Content-MD5.")
    note("crt and s5cmd send a HEAD before every GET, a 1 KiB one too; boto3's get_object is one request.")
    connections = int(os.environ.get("BENCH_CRT_CONCURRENCY", "10"))
    crt_connections = (f"at most {connections} connections a transfer (BENCH_CRT_CONCURRENCY; left to itself the CRT"
                       " opens about 25 and SeaweedFS answers some parts after its first-byte timeout)" if connections
                       else "connections as the CRT decides")
    note(f"The peers at their defaults{' but one' if connections else ''}: boto3 upload_file/download_file (8 MiB parts, 10 threads); crt:"
          f" s3transfer's CRTTransferManager on awscrt (8 MiB parts, {crt_connections}), small objects through it"
          " too; s5cmd cp (50 MiB parts, 5 at a time; an object under 50 MiB is one PUT), small objects with"
          " `s5cmd run` over a command file (--numworkers 1 or the concurrency), its process start-up in the time.")
    if THIS not in clients:
        return
    note("swift: 16 MiB parts, 4 at a time (BENCH_PART_MIB, BENCH_PART_CONCURRENCY), a 16 MiB multipart threshold.")
    note(f"* PUT {mib} MiB*: swift with the SHA-256 given by the caller, as ingest uploads what it staged; the peers'"
          f" row is their PUT {mib} MiB.")
    note(f"GET {mib} MiB: swift sends a HEAD, then every part at once with If-Match, the requests boto3's"
          " download_file sends.")
    note(f"† GET {mib} MiB†: swift with the key alone (size unknown): the first part's headers tell the size; the"
          f" peers' row is their GET {mib} MiB.")

if __name__ == "__main__":
    main()
