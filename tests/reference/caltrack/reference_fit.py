#!/usr/bin/env python3
"""Fit eemeter 3.2.0's CalTRACK 2.0 usage-per-day model (billing or daily) to a
sample exported by export_samples.py and print one JSON object.

    VENV/bin/python reference_fit.py SAMPLE_DIR [--days sample|local|standard]
                                                [--max-p-value 0.1]

SAMPLE_DIR holds windows.json and usage.csv (billing) or interval.csv
(daily); the weather file is windows.json's "weather" (relative to
SAMPLE_DIR). See README.md for every rule applied.

--days decides at which instant each local date D starts when the dated rows
are handed to eemeter (eemeter works on instants, not dates):
  sample    (default) windows.json's "day_zone", the zone in which the
            original sample's boundaries are midnights: Etc/GMT+6 (fixed
            UTC-6, i.e. 06:00Z) for the billing samples, America/Chicago for
            the daily sample. This reproduces the original instants exactly.
  local     America/Chicago midnight (23 h / 25 h days at DST changes).
  standard  Etc/GMT+6 midnight (every day 24 h).
"""
import argparse
import csv
import datetime as dt
import json
import math
import os
import sys
import warnings
from zoneinfo import ZoneInfo

warnings.simplefilter("ignore")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import eemeter  # noqa: E402

P_VALUE_DEFAULT = 0.1  # CalTRACK 2.0 3.4.3.2; eemeter's own default is 1 (no test)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def load_temperature(path, station):
    times, temps = [], []
    for r in read_csv(path):
        if r["station"] != station:
            continue
        t = pd.Timestamp(r["time"]).tz_convert("UTC")
        if t.minute or t.second or t.microsecond or t.nanosecond:
            raise SystemExit("weather time not on the hour: %s" % r["time"])
        times.append(t)
        temps.append(float(r["temp_f"]) if r["temp_f"].strip() else np.nan)
    s = pd.Series(temps, index=pd.DatetimeIndex(times), name="tempF").sort_index()
    if s.index.duplicated().any():
        raise SystemExit("duplicate weather hours for station %s" % station)
    full = pd.date_range(s.index.min(), s.index.max(), freq="H", tz="UTC")
    s = s.reindex(full)  # an absent hour is a NaN hour; index freq is 'H'
    return s


def load_units(sample_dir, w):
    """[(first_date, last_date, value)] in file order, local dates, inclusive."""
    tz = ZoneInfo(w["timezone"])
    out = []
    if w["kind"] == "billing":
        for r in read_csv(os.path.join(sample_dir, "usage.csv")):
            out.append((dt.date.fromisoformat(r["period_start"]),
                        dt.date.fromisoformat(r["period_end"]), float(r["quantity"])))
    else:
        for r in read_csv(os.path.join(sample_dir, "interval.csv")):
            d = dt.datetime.fromisoformat(r["start"]).astimezone(tz).date()
            out.append((d, d, float(r["quantity"])))
    out.sort()
    return out


def select(units, window, kind):
    ws = dt.date.fromisoformat(window["start"])
    we = dt.date.fromisoformat(window["end"])
    if kind == "billing":
        return [u for u in units if u[0] >= ws and u[1] <= we]
    return [u for u in units if ws <= u[0] <= we]


def midnight(d, zone):
    return pd.Timestamp(dt.datetime(d.year, d.month, d.day, tzinfo=ZoneInfo(zone))).tz_convert("UTC")


def meter_frame(units, zone):
    """eemeter meter data: value of [index_i, index_i+1); NaN rows close gaps
    and the last period (eemeter's convention)."""
    idx, vals = [], []
    for i, (first, last, v) in enumerate(units):
        idx.append(midnight(first, zone))
        vals.append(v)
        nxt = last + dt.timedelta(days=1)
        if i + 1 == len(units) or units[i + 1][0] != nxt:
            if i + 1 < len(units) and units[i + 1][0] < nxt:
                raise SystemExit("overlapping periods at %s" % units[i + 1][0])
            idx.append(midnight(nxt, zone))
            vals.append(np.nan)
    return pd.DataFrame({"value": vals}, index=pd.DatetimeIndex(idx))


def fnum(x):
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sample_dir")
    ap.add_argument("--days", choices=["sample", "local", "standard"], default="sample")
    ap.add_argument("--max-p-value", type=float, default=P_VALUE_DEFAULT)
    args = ap.parse_args()

    sd = args.sample_dir
    with open(os.path.join(sd, "windows.json")) as f:
        w = json.load(f)
    zone = {"sample": w["day_zone"], "local": w["timezone"], "standard": "Etc/GMT+6"}[args.days]
    billing = w["kind"] == "billing"

    temps = load_temperature(os.path.join(sd, w["weather"]), w["station"])
    units = load_units(sd, w)
    base_units = select(units, w["baseline"], w["kind"])
    rep_units = select(units, w["reporting"], w["kind"])
    baseline_meter = meter_frame(base_units, zone)
    reporting_meter = meter_frame(rep_units, zone)
    if billing:
        # CalTRACK 2.2.3.4/2.2.3.5: monthly periods outside 25..35 days -> NaN
        baseline_meter = eemeter.clean_caltrack_billing_data(baseline_meter, "billing_monthly")
        reporting_meter = eemeter.clean_caltrack_billing_data(reporting_meter, "billing_monthly")
        dm = eemeter.create_caltrack_billing_design_matrix(baseline_meter, temps)
    else:
        dm = eemeter.create_caltrack_daily_design_matrix(baseline_meter, temps)

    res = eemeter.fit_caltrack_usage_per_day_model(
        dm,
        fit_cdd=bool(w["fit_cdd"]),
        use_billing_presets=billing,
        weights_col="n_days_kept" if billing else None,
        beta_cdd_maximum_p_value=args.max_p_value,
        beta_hdd_maximum_p_value=args.max_p_value,
    )

    ws = dt.date.fromisoformat(w["baseline"]["start"])
    we = dt.date.fromisoformat(w["baseline"]["end"]) + dt.timedelta(days=1)
    suff = eemeter.caltrack_sufficiency_criteria(
        dm, requested_start=midnight(ws, zone).to_pydatetime(),
        requested_end=midnight(we, zone).to_pydatetime(), num_days=(we - ws).days)

    out = {
        "sample": w["sample"],
        "kind": w["kind"],
        "status": res.status,
        "model_type": None,
        "heating_balance_point": None,
        "cooling_balance_point": None,
        "intercept": None,
        "beta_hdd": None,
        "beta_cdd": None,
        "r_squared_adj": None,
        "cvrmse": None,
        "cvrmse_adj": None,
        "n": None,
        "reporting_predicted_total": None,
        "reporting_observed_total": None,
    }
    if res.model is not None:
        m = res.model
        p = m.model_params
        out.update({
            "model_type": m.model_type,
            "heating_balance_point": p.get("heating_balance_point"),
            "cooling_balance_point": p.get("cooling_balance_point"),
            "intercept": fnum(p.get("intercept")),
            "beta_hdd": fnum(p.get("beta_hdd")),
            "beta_cdd": fnum(p.get("beta_cdd")),
            "r_squared_adj": fnum(m.r_squared_adj),
            "cvrmse": fnum(res.avgs_metrics.cvrmse),
            "cvrmse_adj": fnum(res.avgs_metrics.cvrmse_adj),
            "n": int(m.result.nobs),
            "p_values": {k: fnum(v) for k, v in m.result.pvalues.items()},
        })
        savings, bands = eemeter.metered_savings(
            res, reporting_meter, temps, confidence_level=0.90)
        ok = savings.dropna()
        if bands:
            out["fsu_error_band_90"] = fnum(bands["FSU Error Band"])
            out["ols_error_band_90"] = fnum(bands["OLS Error Band"])
        out["reporting_predicted_total"] = fnum(ok.counterfactual_usage.sum())
        out["reporting_observed_total"] = fnum(ok.reporting_observed.sum())
        out["reporting_n"] = int(len(ok))
    statuses = {}
    for c in res.candidates:
        statuses.setdefault(c.model_type, {}).setdefault(c.status, 0)
        statuses[c.model_type][c.status] += 1
    out.update({
        "baseline_n_rows": int(dm.meter_value.notnull().sum()),
        "baseline_days_weight": fnum(dm.n_days_kept.sum()) if billing else None,
        "candidates": statuses,
        "sufficiency": {"status": suff.status,
                        "warnings": [x.qualified_name.split(".")[-1] for x in suff.warnings]},
        "settings": {"days": args.days, "day_zone": zone, "max_p_value": args.max_p_value,
                     "fit_cdd": bool(w["fit_cdd"]), "eemeter": eemeter.__version__,
                     "pandas": pd.__version__, "numpy": np.__version__},
    })
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
