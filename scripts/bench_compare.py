"""Is a change faster? Two checkouts under the same load, interleaved, as ratios to healthz.

    git archive <old-commit> | tar -x -C /tmp/old && ln -s "$PWD/.venv" /tmp/old/.venv
    BENCH_DB=si_mine .venv/bin/python scripts/bench_compare.py --baseline /tmp/old \\
        [--only home,outline,lesson] [--rounds 3] [--duration 5]

Not a test. On a shared machine absolute numbers swing with the neighbours' load, and two bench
runs minutes apart can differ by more than the change being measured. So this prepares the
database once (as scripts/bench.py does), starts gunicorn from both checkouts at once, and in each
round drives healthz and every row on one, then on the other (the order alternates each round, so a
drift in load favours neither). Each row's throughput is divided by healthz's from the same round
and checkout; the table shows the median of those ratios for both checkouts and their quotient.

Throughput still swings with the neighbours. The second table is steadier: the CPU time gunicorn
spent per request (master and workers, from /proc, including workers that were recycled), which
is what limits throughput when the site is CPU-bound and is barely moved by other processes.
PostgreSQL's own CPU is not in it.

The baseline checkout must share the schema (migrations) with this one: one database serves both.
"""

import argparse
import contextlib
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402


def cpu_seconds(master_pid: int) -> float:
    """CPU time of a gunicorn master and its workers, live and exited (Linux /proc)."""

    def fields(pid: int) -> list[str]:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2 :].split()

    master = fields(master_pid)
    # utime, stime, and the children it has reaped (recycled workers): fields 14-17 of stat.
    ticks = sum(int(v) for v in master[11:15])
    for task in Path(f"/proc/{master_pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            with contextlib.suppress(FileNotFoundError):  # exited since the listing
                ticks += sum(int(v) for v in fields(int(child))[11:13])
    return ticks / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, required=True, help="the other checkout")
    parser.add_argument("--only", default="home,outline,lesson", help="rows besides healthz")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5, help="seconds per row and round")
    parser.add_argument("--warmup", type=float, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers, each side")
    args = parser.parse_args()
    keys = ["healthz", *[k for k in args.only.split(",") if k and k != "healthz"]]
    unknown = set(keys) - set(bench.ENDPOINT_KEYS)
    if unknown:
        parser.error(f"--only: unknown row(s) {', '.join(sorted(unknown))}")
    baseline = args.baseline.resolve()
    if not (baseline / "manage.py").is_file():
        parser.error(f"--baseline: {baseline} is not a checkout of the site (no manage.py)")
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk")

    urls, prod_env = bench.prepare_site(secrets.token_urlsafe(50))
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=baseline,
        env=prod_env,
        capture_output=True,
        text=True,
    )
    if collected.returncode != 0:
        sys.exit(f"collectstatic in the baseline failed:\n{collected.stderr}")
    rows = [row for row in bench.endpoints(urls) if row[0] in keys]
    names = {row[0]: row[1] for row in rows}
    trees = {"baseline": baseline, "this checkout": bench.ROOT}
    ratios: dict[str, dict[str, list[float]]] = {t: {k: [] for k in keys[1:]} for t in trees}
    cpu_ms: dict[str, dict[str, list[float]]] = {t: {k: [] for k in keys} for t in trees}
    workdir = Path(tempfile.mkdtemp(prefix="si-bench-compare-"))
    servers = {}
    logs = []
    try:
        for label, tree in trees.items():
            logs.append((workdir / f"{label}.log").open("w"))
            servers[label] = bench.start_gunicorn(
                tree, prod_env, workers=args.workers, log=logs[-1]
            )
        for round_ in range(args.rounds):
            order = list(trees) if round_ % 2 == 0 else list(reversed(trees))
            for label in order:
                server, base = servers[label]
                print(f"round {round_ + 1}, {label}:", flush=True)
                rps = {}
                for key, _name, *endpoint in rows:
                    options = {
                        "script": workdir / f"{key}.lua",
                        "threads": args.threads,
                        "connections": args.connections,
                        "warmup": 0,
                    }
                    if args.warmup:
                        bench.measure(base, *endpoint, duration=args.warmup, **options)
                    cpu_before = cpu_seconds(server.pid)
                    result = bench.measure(base, *endpoint, duration=args.duration, **options)
                    cpu = cpu_seconds(server.pid) - cpu_before
                    rps[key] = result["rps"]
                    cpu_ms[label][key].append(cpu * 1000 / max(1, result["requests"]))
                for key in keys[1:]:
                    ratios[label][key].append(rps[key] / rps["healthz"])
                print(
                    "  "
                    + ", ".join(f"{k} {v:,.0f}/s" for k, v in rps.items())
                    + f"; load {Path('/proc/loadavg').read_text().split()[0]}",
                    flush=True,
                )
    finally:
        for server, _base in servers.values():
            bench.stop_gunicorn(server)
        for log in logs:
            log.close()

    print()
    print(
        f"{args.rounds} rounds, wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s "
        f"per row; baseline {baseline}"
    )
    print()
    print("| Endpoint | baseline vs healthz | this checkout vs healthz | change |")
    print("| --- | ---: | ---: | ---: |")
    for key in keys[1:]:
        old = statistics.median(ratios["baseline"][key])
        new = statistics.median(ratios["this checkout"][key])
        print(f"| {names[key]} | {old:.3f} | {new:.3f} | x{new / old:.2f} |")
    print()
    print("| Endpoint | baseline CPU ms/request | this checkout CPU ms/request | change |")
    print("| --- | ---: | ---: | ---: |")
    for key in keys:
        old = statistics.median(cpu_ms["baseline"][key])
        new = statistics.median(cpu_ms["this checkout"][key])
        print(f"| {names[key]} | {old:.2f} | {new:.2f} | x{new / old:.2f} |")
    print()
    for label in trees:
        for key in keys[1:]:
            values = ", ".join(f"{v:.3f}" for v in ratios[label][key])
            print(f"  {label}, {key} vs healthz: {values}")
        for key in keys:
            values = ", ".join(f"{v:.2f}" for v in cpu_ms[label][key])
            print(f"  {label}, {key} CPU ms/request: {values}")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
