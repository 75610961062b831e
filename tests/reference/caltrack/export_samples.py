#!/usr/bin/env python3
"""Export three OpenEEmeter sample meters (shipped in eemeter 3.2.0 under
eemeter/samples/, Apache-2.0, simulated data) in neighborly's input formats.

    VENV/bin/python export_samples.py OUT_DIR

Writes
    OUT_DIR/weather.csv                       station,time,temp_f (hourly, UTC "Z")
    OUT_DIR/<sample>/usage.csv                billing samples (local dates, end inclusive)
    OUT_DIR/<sample>/interval.csv             daily sample (raw readings as given)
    OUT_DIR/<sample>/windows.json             windows, selection rule, selected periods

Only the standard library is used; the sample files are read straight from
the installed eemeter package (no pandas parsing in between), so every value
is written exactly as the sample spells it.
"""
import csv
import datetime as dt
import gzip
import importlib.util
import json
import os
import sys
from zoneinfo import ZoneInfo

TZ = ZoneInfo("America/Chicago")
STATION = "il"  # all three samples use il-tempF.csv.gz (USAF 724390)

# blackout/intervention dates from eemeter/samples/metadata.json (same for all three)
SAMPLES = {
    "il-electricity-cdd-hdd-billing_monthly": {
        "kind": "billing", "account_id": "IL-ELEC-BILL", "fuel": "electricity",
        "unit": "kWh", "fit_cdd": True,
    },
    "il-gas-hdd-only-billing_monthly": {
        "kind": "billing", "account_id": "IL-GAS-BILL", "fuel": "gas",
        "unit": "therm", "fit_cdd": False,
    },
    "il-electricity-cdd-hdd-daily": {
        "kind": "daily", "account_id": "IL-ELEC-DAILY", "fuel": "electricity",
        "unit": "kWh", "fit_cdd": True,
    },
}
WINDOW_DAYS = 365


def samples_dir():
    spec = importlib.util.find_spec("eemeter")
    if spec is None:
        sys.exit("export_samples.py: eemeter is not importable; run it with the venv made by setup.sh")
    return os.path.join(spec.submodule_search_locations[0], "samples")


def read_gz_csv(path):
    with gzip.open(path, "rt", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def parse_ts(s):
    t = dt.datetime.fromisoformat(s)
    if t.tzinfo is None:
        raise ValueError("timestamp without offset: %r" % s)
    return t


def is_missing(v):
    return v.strip().lower() in ("", "nan")


def local_date(t):
    return t.astimezone(TZ).date()


def utc_z(t):
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def export_weather(sdir, meta, out_dir):
    names = {meta[s]["temperature_filename"] for s in SAMPLES}
    if names != {"il-tempF.csv.gz"}:
        raise SystemExit("samples do not share one temperature file: %s" % sorted(names))
    header, rows = read_gz_csv(os.path.join(sdir, "il-tempF.csv.gz"))
    assert header == ["dt", "tempF"], header
    path = os.path.join(out_dir, "weather.csv")
    prev = None
    n = 0
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["station", "time", "temp_f"])
        for ts, temp in rows:
            t = parse_ts(ts)
            if prev is not None and t <= prev:
                raise SystemExit("weather not strictly increasing at %s" % ts)
            prev = t
            if is_missing(temp):
                continue  # an absent row is a missing hour
            w.writerow([STATION, utc_z(t), temp])
            n += 1
    return n


def window_dates(meta):
    blackout_start = dt.date.fromisoformat(meta["blackout_start_date"])
    blackout_end = dt.date.fromisoformat(meta["blackout_end_date"])
    baseline = (blackout_start - dt.timedelta(days=WINDOW_DAYS), blackout_start - dt.timedelta(days=1))
    reporting = (blackout_end, blackout_end + dt.timedelta(days=WINDOW_DAYS - 1))
    return blackout_start, blackout_end, baseline, reporting


def export_sample(sdir, name, cfg, meta, out_dir):
    m = meta[name]
    assert m["unit"] == cfg["unit"], (name, m["unit"])
    assert m["interpretation"] == cfg["fuel"], (name, m["interpretation"])
    header, rows = read_gz_csv(os.path.join(sdir, m["meter_data_filename"]))
    assert header == ["start", "value"], header
    starts = [parse_ts(r[0]) for r in rows]
    for a, b in zip(starts, starts[1:]):
        if b <= a:
            raise SystemExit("%s: starts not increasing at %s" % (name, b.isoformat()))
    # a row's value covers [start, next start); the last row (value nan) only closes it
    periods = []  # (start_ts_str, start, end_exclusive, value_str)
    for i in range(len(rows) - 1):
        if is_missing(rows[i][1]):
            continue
        periods.append((rows[i][0], starts[i], starts[i + 1], rows[i][1].strip()))

    # the zone in which every boundary of this sample is a midnight: billing
    # samples were generated at 00:00 CST (06:00Z, shown as 01:00 CDT in summer),
    # the daily sample at America/Chicago local midnight (23 h / 25 h DST days)
    day_zone = None
    for zone in ("America/Chicago", "Etc/GMT+6"):
        z = ZoneInfo(zone)
        if all(t.astimezone(z).time() == dt.time(0) for t in starts):
            day_zone = zone
            break
    if day_zone is None:
        raise SystemExit("%s: boundaries are not midnights in a known zone" % name)

    sub = os.path.join(out_dir, name)
    os.makedirs(sub, exist_ok=True)
    blackout_start, blackout_end, baseline, reporting = window_dates(m)
    out = {
        "sample": name,
        "source": "eemeter 3.2.0 eemeter/samples/%s (simulated data, Apache-2.0)" % m["meter_data_filename"],
        "kind": cfg["kind"],
        "account_id": cfg["account_id"],
        "fuel": cfg["fuel"],
        "unit": cfg["unit"],
        "fit_cdd": cfg["fit_cdd"],
        "station": STATION,
        "weather": "../weather.csv",
        "timezone": "America/Chicago",
        "day_zone": day_zone,
        "blackout_start": blackout_start.isoformat(),
        "blackout_end": blackout_end.isoformat(),
        "baseline": {"start": baseline[0].isoformat(), "end": baseline[1].isoformat()},
        "reporting": {"start": reporting[0].isoformat(), "end": reporting[1].isoformat()},
        "simulated_truth": {k: v for k, v in m.items() if k.startswith(("annual_", "baseline_", "reporting_"))},
    }

    if cfg["kind"] == "billing":
        recs = []
        for _, s, e, v in periods:
            ps = local_date(s)
            pe = local_date(e) - dt.timedelta(days=1)  # inclusive: last day read
            recs.append((ps, pe, v))
        with open(os.path.join(sub, "usage.csv"), "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["account_id", "period_start", "period_end", "quantity", "unit", "estimated"])
            for ps, pe, v in recs:
                w.writerow([cfg["account_id"], ps.isoformat(), pe.isoformat(), v, cfg["unit"], "false"])
        out["selection"] = ("a billing period is used in a window iff period_start >= window.start "
                            "and period_end <= window.end (entirely inside)")
        for key, (ws, we) in (("baseline", baseline), ("reporting", reporting)):
            out[key + "_periods"] = [[ps.isoformat(), pe.isoformat()] for ps, pe, _ in recs
                                     if ps >= ws and pe <= we]
    else:
        with open(os.path.join(sub, "interval.csv"), "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["account_id", "start", "duration_s", "quantity", "unit"])
            for raw, s, e, v in periods:
                dur = (e - s).total_seconds()
                assert dur == int(dur)
                w.writerow([cfg["account_id"], raw, int(dur), v, cfg["unit"]])
        out["selection"] = ("a reading is used in a window iff the America/Chicago local date of its "
                            "start is within [window.start, window.end]; it stands for that local date")
        for key, (ws, we) in (("baseline", baseline), ("reporting", reporting)):
            days = [local_date(s) for _, s, _, _ in periods if ws <= local_date(s) <= we]
            out[key + "_days"] = {"first": days[0].isoformat(), "last": days[-1].isoformat(), "count": len(days)}
    with open(os.path.join(sub, "windows.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    return len(periods)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: export_samples.py OUT_DIR")
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    sdir = samples_dir()
    with open(os.path.join(sdir, "metadata.json")) as f:
        meta = json.load(f)
    n = export_weather(sdir, meta, out_dir)
    print("weather.csv: %d hours" % n, file=sys.stderr)
    for name, cfg in SAMPLES.items():
        k = export_sample(sdir, name, cfg, meta, out_dir)
        print("%s: %d readings" % (name, k), file=sys.stderr)


if __name__ == "__main__":
    main()
