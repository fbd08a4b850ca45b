"""The serving part of `make bench`: `pipeline-infer serve` against the Python service
(Benchmarks/peers/serve_onnx.py) serving the same exported model, under wrk on loopback.

    serving_report.py OUT_DIR OURS_SATURATED OURS_AT_80 PEER_SATURATED PEER_AT_80

Each argument after OUT_DIR is the JSON line wrk_post.lua printed: at saturation (fixed
connections, as fast as each answers) and at 80 % of that one's own saturated rate.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import bench_gate  # noqa: E402


def main():
    out = sys.argv[1]
    ours, ours80, peer, peer80 = (json.loads(a) for a in sys.argv[2:6])

    def rate(run):
        return run["requests"] / run["seconds"]

    print("\nServing: one 640x480 JPEG a request, the demo CNN, wrk on loopback")
    print(f"{'service':<34} | {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} | {'at 80 %: req/s':>14} {'p50 ms':>8} "
          f"{'p99 ms':>8} {'errors':>6}")
    for name, saturated, eighty in (("pipeline-infer serve", ours, ours80),
                                    ("FastAPI + onnxruntime (uvicorn)", peer, peer80)):
        print(f"{name:<34} | {rate(saturated):>8.0f} {saturated['p50_ms']:>8.2f} {saturated['p99_ms']:>8.2f} | "
              f"{rate(eighty):>14.0f} {eighty['p50_ms']:>8.2f} {eighty['p99_ms']:>8.2f} "
              f"{saturated['errors'] + eighty['errors'] + saturated['socket_errors'] + eighty['socket_errors']:>6}")
    throughput = rate(ours) / rate(peer)
    tail = peer80["p99_ms"] / ours80["p99_ms"]
    print(f"pipeline-infer serve: {throughput:.2f}x the requests/s (goal 2x); p99 at 80 % of its own saturation "
          f"{ours80['p99_ms']:.2f} ms against the peer's {peer80['p99_ms']:.2f} ms at 80 % of its own (goal: lower)")
    bench_gate.record(out, "serving", {
        "serve vs FastAPI+onnxruntime (requests/s)": throughput,
        "serve vs FastAPI+onnxruntime (peer p99 / this p99, each at 80 %)": tail})


if __name__ == "__main__":
    main()
