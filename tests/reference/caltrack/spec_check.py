#!/usr/bin/env python3
"""Independent re-implementation of README.md's algorithm (numpy + scipy.stats
only, no eemeter, no statsmodels), to show the README is complete: its output
has the same keys as reference_fit.py and agrees with it to ~1e-9 wherever
every day is 24 hours (billing samples; the daily sample with --days standard).
With America/Chicago days it follows the plain rule (a day is its 23/24/25
hours), not eemeter's DST quirks (README, "DST days"), so it differs slightly.

    VENV/bin/python spec_check.py SAMPLE_DIR [--days sample|local|standard] [--max-p-value 0.1]
"""
import argparse
import csv
import datetime as dt
import json
import os
import sys
from zoneinfo import ZoneInfo

import numpy as np
from scipy import stats

GRID = range(30, 91)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def utc_hour(t):
    return int(t.timestamp()) // 3600


def load_weather(path, station):
    temps = {}
    for r in read_csv(path):
        if r["station"] == station and r["temp_f"].strip():
            t = dt.datetime.fromisoformat(r["time"].replace("Z", "+00:00"))
            temps[utc_hour(t)] = float(r["temp_f"])
    return temps


def day_start_hour(d, zone):
    return utc_hour(dt.datetime(d.year, d.month, d.day, tzinfo=ZoneInfo(zone)))


def daily_means(dates, temps, zone):
    """{date: mean temp or None}: hours [D 00:00, D+1 00:00) in zone, kept if
    more than 12 hours are present (24 * 0.5, eemeter's fixed limit)."""
    out = {}
    for d in dates:
        a, b = day_start_hour(d, zone), day_start_hour(d + dt.timedelta(days=1), zone)
        vals = [temps[h] for h in range(a, b) if h in temps]
        out[d] = (sum(vals) / len(vals), len(vals), b - a) if len(vals) > 12 else (None, len(vals), b - a)
    return out


def period_features(first, last, temps, zone, billing):
    """(n_days, n_days_kept, {bp: mean daily hdd}, {bp: mean daily cdd}) or None."""
    dates = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    dm = daily_means(dates, temps, zone)
    hours = sum(v[2] for v in dm.values())
    present = sum(v[1] for v in dm.values())
    if billing and present < 0.9 * hours:  # 90 % of the period's hours
        return None
    kept = [v[0] for v in dm.values() if v[0] is not None]
    if not kept:
        return None
    k = np.array(kept)
    hdd = {bp: float(np.maximum(bp - k, 0).mean()) for bp in GRID}
    cdd = {bp: float(np.maximum(k - bp, 0).mean()) for bp in GRID}
    return len(dates), len(kept), hdd, cdd


def wls(y, cols, w):
    X = np.column_stack([np.ones_like(y)] + cols)
    sw = np.sqrt(w)
    beta, *_ = np.linalg.lstsq(X * sw[:, None], y * sw, rcond=None)
    e = y - X @ beta
    n, k = X.shape
    ssr = float(np.sum(w * e * e))
    ybar = np.average(y, weights=w)
    tss = float(np.sum(w * (y - ybar) ** 2))
    r2 = 1 - ssr / tss
    r2adj = 1 - (n - 1) / (n - k) * (1 - r2)
    sigma2 = ssr / (n - k)
    se = np.sqrt(np.diag(sigma2 * np.linalg.inv(X.T @ (X * w[:, None]))))
    p = 2 * stats.t.sf(np.abs(beta / se), n - k)
    return beta, p, r2adj


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sample_dir")
    ap.add_argument("--days", choices=["sample", "local", "standard"], default="sample")
    ap.add_argument("--max-p-value", type=float, default=0.1)
    a = ap.parse_args()
    sd = a.sample_dir
    w = json.load(open(os.path.join(sd, "windows.json")))
    zone = {"sample": w["day_zone"], "local": w["timezone"], "standard": "Etc/GMT+6"}[a.days]
    billing = w["kind"] == "billing"
    temps = load_weather(os.path.join(sd, w["weather"]), w["station"])
    tz = ZoneInfo(w["timezone"])
    if billing:
        units = [(dt.date.fromisoformat(r["period_start"]), dt.date.fromisoformat(r["period_end"]),
                  float(r["quantity"])) for r in read_csv(os.path.join(sd, "usage.csv"))]
    else:
        units = []
        for r in read_csv(os.path.join(sd, "interval.csv")):
            d = dt.datetime.fromisoformat(r["start"]).astimezone(tz).date()
            units.append((d, d, float(r["quantity"])))

    def sel(win):
        s, e = dt.date.fromisoformat(win["start"]), dt.date.fromisoformat(win["end"])
        if billing:
            return [u for u in units if u[0] >= s and u[1] <= e and 25 <= (u[1] - u[0]).days + 1 <= 35]
        return [u for u in units if s <= u[0] <= e]

    rows = []
    for first, last, v in sel(w["baseline"]):
        f = period_features(first, last, temps, zone, billing)
        if f is not None:
            rows.append((v / f[0],) + f)
    y = np.array([r[0] for r in rows])
    wt = np.array([float(r[2]) for r in rows]) if billing else np.ones(len(rows))
    min_nonzero = 0 if billing else 10

    def dd(kind, bp):
        return np.array([r[3 if kind == "hdd" else 4][bp] for r in rows])

    def dd_ok(x):
        return float(np.sum(x * wt)) >= 20 and int(np.sum(x > 0)) >= min_nonzero

    cands = []  # (r2adj, type, params) in eemeter's order
    mean = float(np.average(y, weights=wt))
    if mean >= 0:
        cands.append((0.0, "intercept_only", {"intercept": mean}))
    for bp in GRID:
        x = dd("hdd", bp)
        if dd_ok(x):
            b, p, r2 = wls(y, [x], wt)
            if b[0] >= 0 and b[1] >= 0 and p[1] <= a.max_p_value:
                cands.append((r2, "hdd_only", {"intercept": b[0], "beta_hdd": b[1], "heating_balance_point": bp}))
    if w["fit_cdd"]:
        for bp in GRID:
            x = dd("cdd", bp)
            if dd_ok(x):
                b, p, r2 = wls(y, [x], wt)
                if b[0] >= 0 and b[1] >= 0 and p[1] <= a.max_p_value:
                    cands.append((r2, "cdd_only", {"intercept": b[0], "beta_cdd": b[1], "cooling_balance_point": bp}))
        for cbp in GRID:
            for hbp in GRID:
                if hbp > cbp:
                    continue
                xc, xh = dd("cdd", cbp), dd("hdd", hbp)
                if dd_ok(xc) and dd_ok(xh):
                    b, p, r2 = wls(y, [xc, xh], wt)
                    if min(b) >= 0 and p[1] <= a.max_p_value and p[2] <= a.max_p_value:
                        cands.append((r2, "cdd_hdd", {"intercept": b[0], "beta_cdd": b[1], "beta_hdd": b[2],
                                                      "cooling_balance_point": cbp, "heating_balance_point": hbp}))
    best = None
    for c in cands:  # strictly greater: the first of equals wins
        if best is None or c[0] > best[0]:
            best = c
    r2, mtype, prm = best
    ic, bh, bc = prm["intercept"], prm.get("beta_hdd", 0.0), prm.get("beta_cdd", 0.0)
    hbp, cbp = prm.get("heating_balance_point"), prm.get("cooling_balance_point")
    pred = np.array([ic + (bh * r[3][hbp] if hbp else 0) + (bc * r[4][cbp] if cbp else 0) for r in rows])
    nparam = {"intercept_only": 0, "hdd_only": 1, "cdd_only": 1, "cdd_hdd": 2}[mtype]
    res = pred - y
    obs_mean = float(np.mean(np.abs(y)))
    cvrmse = float(np.sqrt(np.mean(res ** 2))) / obs_mean
    cvrmse_adj = float(np.sqrt(np.sum(res ** 2) / (len(y) - nparam))) / obs_mean
    ptot = otot = 0.0
    nrep = 0
    for first, last, v in sel(w["reporting"]):
        f = period_features(first, last, temps, zone, billing)
        if f is None:
            continue
        n_days, _, hdd, cdd = f
        ptot += ic * n_days + (bh * hdd[hbp] * n_days if hbp else 0) + (bc * cdd[cbp] * n_days if cbp else 0)
        otot += v
        nrep += 1
    json.dump({"model_type": mtype, "heating_balance_point": hbp, "cooling_balance_point": cbp,
               "intercept": ic, "beta_hdd": prm.get("beta_hdd"), "beta_cdd": prm.get("beta_cdd"),
               "r_squared_adj": r2, "cvrmse": cvrmse, "cvrmse_adj": cvrmse_adj, "n": len(y),
               "reporting_predicted_total": ptot, "reporting_observed_total": otot, "reporting_n": nrep},
              sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
