#!/usr/bin/env python3
"""Adversarial cross-check of bench/peers.py's SQL against our engine on small random event sets.

`bench gen` data is July 2025 only (no DST change, few edge cases). This writes small NDJSON files whose
events sit around DST transitions and local midnights, in odd time zones, with every tricky case of the
semantics: events out of order and duplicated, clicks without delivered/read, click ids repeated at other
times, id-less clicks at equal timestamps, clicks with and without ids at the same instant, failed then
delivered, country and price ties at the same instant, E2/E5/unknown countries, rounding-half prices, one
recipient in several campaigns. Then it runs peers.py on each (random increment, breakdown, range, zone),
which asserts that every peer's rows equal ours.

    python3 bench/fuzz_peers.py [--cases 30] [--seed 1] [--engines duckdb,chdb] [--keep DIR]

Exit status 0 when every case matched; otherwise the failing file is kept and its command printed.
"""

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

# (zone, a UTC instant of one of its 2025 offset changes)
ZONES = [
    ("America/New_York", "2025-03-09T07:00:00Z"), ("America/New_York", "2025-11-02T06:00:00Z"),
    ("Europe/London", "2025-03-30T01:00:00Z"), ("Europe/London", "2025-10-26T01:00:00Z"),
    ("Australia/Lord_Howe", "2025-04-05T15:00:00Z"), ("Australia/Lord_Howe", "2025-10-04T15:30:00Z"),
    ("Pacific/Chatham", "2025-04-05T14:00:00Z"), ("Pacific/Chatham", "2025-09-27T14:00:00Z"),
    ("America/St_Johns", "2025-11-02T04:30:00Z"), ("Asia/Kathmandu", "2025-07-01T00:00:00Z"),
    ("UTC", "2025-07-01T00:00:00Z"), ("America/Los_Angeles", "2025-03-09T10:00:00Z"),
]
COUNTRIES = [None, None, "US", "US", "BR", "IN", "FR", "DE", "GB", "JP", "AR", "TR", "KR", "CH", "NO", "MX"]
PRICES = ["0.01", "0.0107", "0.025", "0.005", "0.000001", "1.234567", "0.015", "0.004999", "0", "0.0625",
          "0.000005", "2.5"]
KINDS = ["sent", "delivered", "read", "click", "failed"]


def iso(ms: int) -> str:
    t = dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def make_case(rng: random.Random):
    zone, change = rng.choice(ZONES)
    base = int(dt.datetime.fromisoformat(change.replace("Z", "+00:00")).timestamp() * 1000)
    campaigns = [f"1202000000000000{i:02d}" for i in range(rng.randint(1, 3))]
    recipients = [f"psid-{i}" for i in range(rng.randint(1, 40))]
    # Instants: near the change, near local midnights (±2 days of hours), a few exact repeats.
    pool = [base + rng.randint(-3 * 86_400_000, 3 * 86_400_000) for _ in range(30)]
    pool += [base + h * 3_600_000 + rng.choice([-1, 0, 1, 999, -1000]) for h in range(-72, 73, 1)]
    lines = []
    for _ in range(rng.randint(1, 250)):
        kind = rng.choice(KINDS)
        ms = rng.choice(pool)
        e = {"campaign_id": rng.choice(campaigns), "recipient": rng.choice(recipients), "event": kind,
             "timestamp": iso(ms)}
        c = rng.choice(COUNTRIES)
        if c is not None and rng.random() < 0.7:
            e["country"] = c
        if kind == "click" and rng.random() < 0.6:
            # an id may even spell the ms timestamp of an id-less click: still a different click
            e["event_id"] = rng.choice(["a", "b", "c", "clk-1", "1234", str(ms), str(ms)])
        elif rng.random() < 0.05:
            e["event_id"] = rng.choice(["a", "x"])  # ids on other kinds identify nothing
        if kind in ("delivered", "read", "sent") and rng.random() < 0.4:
            e["price"] = rng.choice(PRICES)
        lines.append(e)
        if e.get("event_id") == str(ms) and rng.random() < 0.5:
            lines.append({k: v for k, v in e.items() if k != "event_id"})  # the id-less click at that ms
        if rng.random() < 0.1:
            lines.append(dict(e))  # duplicate
        if rng.random() < 0.05:  # the same instant, another country or price: ties
            e2 = dict(e)
            if "country" in e2:
                e2["country"] = rng.choice([c for c in COUNTRIES if c])
            if "price" in e2:
                e2["price"] = rng.choice(PRICES)
            lines.append(e2)
    rng.shuffle(lines)
    local_change = dt.datetime.fromtimestamp(base / 1000, dt.timezone.utc).date()
    start = local_change + dt.timedelta(days=rng.randint(-4, 1))
    stop = start + dt.timedelta(days=rng.randint(0, 6))
    inc = rng.choice(["all_days", "1", "2", "3", "monthly"])
    breakdown = rng.choice(["none", "country"])
    currency = rng.choice(["USD", "USD", "JPY", "KWD"])
    return lines, ["--tz", zone, "--date-start", start.isoformat(), "--date-stop", stop.isoformat(),
                   "--time-increment", inc, "--breakdown", breakdown, "--currency", currency]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--engines", default="duckdb,chdb")
    ap.add_argument("--binary", default=os.path.join(HERE, "..", "target", "release", "cams-insights"))
    ap.add_argument("--keep", help="directory to keep the generated files in")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    outdir = args.keep or tempfile.mkdtemp(prefix="fuzz-peers-")
    os.makedirs(outdir, exist_ok=True)
    failures = 0
    for i in range(args.cases):
        lines, qargs = make_case(rng)
        path = os.path.join(outdir, f"case{i:03d}.ndjson")
        with open(path, "w") as f:
            for e in lines:
                f.write(json.dumps(e, separators=(",", ":")) + "\n")
        cmd = [sys.executable, os.path.join(HERE, "peers.py"), path, "--engines", args.engines, "--runs", "1",
               "--iterations", "1", "--binary", args.binary] + qargs
        out = subprocess.run(cmd, capture_output=True, text=True)
        ok = out.returncode == 0
        print(f"case {i:3d}: {len(lines):3d} events {' '.join(qargs)}: {'ok' if ok else 'FAIL'}", flush=True)
        if not ok:
            failures += 1
            print("  " + " ".join(cmd))
            print("  " + (out.stderr.strip() or out.stdout.strip()).replace("\n", "\n  "))
        elif not args.keep:
            os.remove(path)
    if failures:
        print(f"{failures} of {args.cases} cases differ; files kept in {outdir}")
        return 1
    if not args.keep:
        os.rmdir(outdir)
    print(f"all {args.cases} cases matched")
    return 0


if __name__ == "__main__":
    sys.exit(main())
