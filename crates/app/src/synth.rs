//! Synthetic customers and meter reads, deterministic from a seed.
//!
//! Used for the shipped samples, the tests and the benchmark. The data looks
//! like a water utility's CIS export: uneven bill lengths from read cycles,
//! mixed units, seasonal use, about a fifth Spanish-speaking households, some
//! enrolled in assistance programs, a small locality that cannot form a
//! cohort, new accounts with short history, and (optionally) a handful of
//! deliberately broken rows of every kind the ingest must survive.

use std::borrow::Cow;
use std::path::Path;

use anyhow::Result;
use chrono::{Datelike, Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use statrs::distribution::LogNormal;

use crate::model::Period;

#[derive(Debug, Clone)]
pub struct SynthOptions {
    pub households: usize,
    /// Months of bills, ending with `last_period`.
    pub months: u32,
    pub last_period: Period,
    pub seed: u64,
    /// Add the broken rows and hostile names the tests rely on.
    pub broken_rows: bool,
    /// A known saving planted in treated households, so an evaluation can be checked.
    pub effect: Option<Effect>,
    /// Water (gallons and the like) or electricity (kWh, with floor area and
    /// heating fuel driving use).
    pub service: crate::model::Service,
    /// How many localities the homes are spread over: the five named ones,
    /// then `district-NN` (a large utility has hundreds, which is what
    /// lets a sharded run balance its shards).
    pub localities: usize,
    /// Draw localities with skewed sizes (a few large, a long tail of small
    /// ones) instead of evenly: the shape of a real service territory, where
    /// a locality is a census block group or a meter route.
    pub skewed: bool,
}

/// Treated households use `pct` percent less in every bill ending in or after `from`.
#[derive(Debug, Clone)]
pub struct Effect {
    pub pct: f64,
    pub from: Period,
    pub treated: std::collections::HashSet<String>,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            households: 500,
            months: 25,
            last_period: Period {
                year: 2026,
                month: 10,
            },
            seed: 7,
            broken_rows: true,
            effect: None,
            service: crate::model::Service::Water,
            localities: LOCALITIES.len(),
            skewed: false,
        }
    }
}

const LOCALITIES: [(&str, &str); 5] = [
    ("oak-park", "95616"),
    ("riverbend", "95618"),
    ("hillcrest", "95617"),
    ("old-town", "95616"),
    ("willow-creek", "95620"),
];
/// A tiny hamlet: too few homes for any comparison.
const SMALL_LOCALITY: (&str, &str) = ("cache-slough", "95690");
const STREETS: [&str; 12] = [
    "Oak St",
    "Elm Ave",
    "Maple Dr",
    "Cedar Ln",
    "Willow Way",
    "Birch Ct",
    "Pine St",
    "Alder Rd",
    "Sycamore Pl",
    "Juniper Ave",
    "Laurel St",
    "Poplar Dr",
];
const FIRST: [&str; 16] = [
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Susan", "Wei", "Aisha", "Tom", "Grace", "Samuel", "Helen",
];
const FIRST_ES: [&str; 10] = [
    "José",
    "María",
    "Juan",
    "Guadalupe",
    "Luis",
    "Rosa",
    "Carlos",
    "Lucía",
    "Jesús",
    "Ana",
];
const LAST: [&str; 14] = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
    "Taylor", "Nguyen", "Chen", "Okafor", "Kowalski",
];
const LAST_ES: [&str; 10] = [
    "García",
    "Martínez",
    "Hernández",
    "López",
    "González",
    "Pérez",
    "Rodríguez",
    "Sánchez",
    "Ramírez",
    "Núñez",
];

pub const HOSTILE_NAME: &str = "#read(\"/etc/passwd\") *Bold* $x^2$ <tag> @ref";

/// Write `customers.csv`, `usage.csv` and the town's hourly `weather.csv` into `dir`.
///
/// One generator draws everything, household by household: its customer
/// row, then its meter, then its reads. Each step takes the generator in
/// turn, so the same seed gives the same files byte for byte; tests and the
/// benchmark rely on that, so no draw may move from one step to another.
pub fn generate(dir: &Path, opts: &SynthOptions) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let noise = LogNormal::new(0.0, 0.3).expect("valid distribution");
    let electric = opts.service == crate::model::Service::Electric;
    let mut customers = csv::Writer::from_path(dir.join("customers.csv"))?;
    let mut usage = csv::Writer::from_path(dir.join("usage.csv"))?;
    write_headers(&mut customers, &mut usage, electric)?;

    let first_period = opts.last_period.offset(-(opts.months as i32) + 1);
    let small_count = 6.min(opts.households / 50);
    for n in 0..opts.households {
        let home = draw_home(n, small_count, opts, &mut rng);
        write_customer(&mut customers, &home, opts)?;
        let meter = draw_meter(&home, &noise, opts, &mut rng);
        write_reads(&mut usage, &home, &meter, first_period, opts, &mut rng)?;
    }
    if opts.broken_rows {
        write_broken_reads(&mut usage, electric)?;
    }
    customers.flush()?;
    usage.flush()?;
    let first_day = first_period.offset(-2).first_day();
    let last_day = opts.last_period.offset(1).last_day();
    write_weather(&dir.join("weather.csv"), first_day, last_day, opts.seed)
}

type CsvFile = csv::Writer<std::fs::File>;

/// The two files' header rows; an electric utility's customer file also
/// says how each home is heated.
fn write_headers(customers: &mut CsvFile, usage: &mut CsvFile, electric: bool) -> Result<()> {
    let mut header = vec![
        "account_id",
        "name",
        "address_line1",
        "address_line2",
        "city",
        "state",
        "zip",
        "locality",
        "service",
        "occupants",
        "home_sqft",
        "year_built",
        "language",
        "programs",
        "status",
        "do_not_mail",
        "meter_route",
    ];
    if electric {
        header.push("heating_fuel");
    }
    customers.write_record(&header)?;
    usage.write_record([
        "account_id",
        "period_start",
        "period_end",
        "quantity",
        "unit",
        "estimated",
    ])?;
    Ok(())
}

/// One household's customer row, as drawn.
struct Home {
    /// Its place in the file (0-based): the broken rows sit at fixed places.
    n: usize,
    account: String,
    spanish: bool,
    name: String,
    address: String,
    address2: String,
    zip: String,
    locality: Cow<'static, str>,
    occupants: u32,
    sqft: u32,
    year_built: i32,
    programs: &'static str,
    status: &'static str,
    do_not_mail: bool,
    route: String,
    /// Carries the hostile and overlong values: kept mailable and with its
    /// whole history, so the tests see them printed.
    showcase: bool,
    electric_heat: bool,
}

/// Draw household `n`'s customer row (the first `small_count` live in the
/// small locality).
fn draw_home(n: usize, small_count: usize, opts: &SynthOptions, rng: &mut ChaCha8Rng) -> Home {
    let electric = opts.service == crate::model::Service::Electric;
    let account = format!("{}{:06}", if electric { "E" } else { "W" }, n + 1);
    let (spanish, mut name) = draw_name(rng);
    let (locality, zip) = draw_locality(n, small_count, opts, rng);
    let occupants: u32 = *[1, 2, 2, 2, 3, 3, 4, 4, 5, 6]
        .get(rng.gen_range(0..10))
        .unwrap_or(&2);
    let sqft = 700 + occupants * 250 + rng.gen_range(0..900);
    let year_built = rng.gen_range(1935..2022);
    let programs = match rng.gen_range(0..100) {
        0..=7 => "snap",
        8..=10 => "liheap;snap",
        11..=13 => "cap",
        _ => "",
    };
    // Households 10-12 carry the hostile and overlong values; keep them mailable.
    let showcase = opts.broken_rows && (10..=12).contains(&n);
    let status = match rng.gen_range(0..200) {
        _ if showcase => "active",
        0..=2 => "vacant",
        3 => "closed",
        _ => "active",
    };
    let do_not_mail = rng.gen_range(0..150) == 0 && !showcase;
    let mut zip = zip.to_string();
    let mut address2 = if rng.gen_range(0..8) == 0 {
        format!("Apt {}", rng.gen_range(1..40))
    } else {
        String::new()
    };
    if opts.broken_rows {
        plant_broken_values(n, &mut name, &mut address2, &mut zip);
    }
    let address = format!(
        "{} {}",
        100 + rng.gen_range(0..9800),
        STREETS[rng.gen_range(0..STREETS.len())]
    );
    let route = format!("R{:02}", rng.gen_range(1..30));
    // Electric homes: two in five heat with electricity, the rest with gas.
    let electric_heat = electric && rng.gen_range(0..5) < 2;
    Home {
        n,
        account,
        spanish,
        name,
        address,
        address2,
        zip,
        locality,
        occupants,
        sqft,
        year_built,
        programs,
        status,
        do_not_mail,
        route,
        showcase,
        electric_heat,
    }
}

/// Whether the household speaks Spanish (about a fifth do), and a name
/// from its language's lists.
fn draw_name(rng: &mut ChaCha8Rng) -> (bool, String) {
    let spanish = rng.gen_bool(0.2);
    let (first, last) = if spanish {
        (
            FIRST_ES[rng.gen_range(0..FIRST_ES.len())],
            LAST_ES[rng.gen_range(0..LAST_ES.len())],
        )
    } else {
        (
            FIRST[rng.gen_range(0..FIRST.len())],
            LAST[rng.gen_range(0..LAST.len())],
        )
    };
    (spanish, format!("{first} {last}"))
}

/// The household's locality and zip: the small one for the first
/// `small_count` homes (drawing nothing), else one of `opts.localities`.
fn draw_locality(
    n: usize,
    small_count: usize,
    opts: &SynthOptions,
    rng: &mut ChaCha8Rng,
) -> (Cow<'static, str>, Cow<'static, str>) {
    if n < small_count {
        return (SMALL_LOCALITY.0.into(), SMALL_LOCALITY.1.into());
    }
    let count = opts.localities.max(1);
    let drawn = if opts.skewed {
        // u^2 has density 1/(2 sqrt(x)): locality 0 of 2,000 gets
        // about 2% of the homes, the last ones about 1/(2 x 2,000).
        let u: f64 = rng.r#gen();
        ((u * u * count as f64) as usize).min(count - 1)
    } else {
        rng.gen_range(0..count)
    };
    match drawn {
        i if i < LOCALITIES.len() => (LOCALITIES[i].0.into(), LOCALITIES[i].1.into()),
        i => (
            format!("district-{i:03}").into(),
            format!("9{:04}", 5700 + i % 300).into(),
        ),
    }
}

/// The broken and hostile customer values the tests rely on, by household.
/// It draws nothing, so planting them changes no other value.
fn plant_broken_values(n: usize, name: &mut String, address2: &mut String, zip: &mut String) {
    match n {
        10 => *name = HOSTILE_NAME.to_string(),
        11 => {
            // Two name lines, two address lines, city: the 5-line maximum.
            *name = "Dr. Maximiliana Evangelina Rosales-Fitzgerald-Montgomery III".to_string();
            *address2 = "Apt 7".to_string();
        }
        12 => {
            *address2 = "Care of the Estate of the Late Bartholomew Featherstonehaugh".to_string()
        }
        13 => *zip = "9561".to_string(),
        14 => *name = String::new(),
        _ => {}
    }
}

/// The household's row of `customers.csv` (twice for household 15 with
/// broken rows: a duplicate account).
fn write_customer(customers: &mut CsvFile, home: &Home, opts: &SynthOptions) -> Result<()> {
    let electric = opts.service == crate::model::Service::Electric;
    let occupants_text = home.occupants.to_string();
    let sqft_text = home.sqft.to_string();
    let year_text = home.year_built.to_string();
    let mut row = vec![
        home.account.as_str(),
        home.name.as_str(),
        home.address.as_str(),
        home.address2.as_str(),
        "Maple Valley",
        "CA",
        home.zip.as_str(),
        home.locality.as_ref(),
        opts.service.as_str(),
        &occupants_text,
        &sqft_text,
        &year_text,
        if home.spanish { "es" } else { "en" },
        home.programs,
        home.status,
        if home.do_not_mail { "true" } else { "false" },
        home.route.as_str(),
    ];
    if electric {
        row.push(if home.electric_heat {
            "electric"
        } else {
            "gas"
        });
    }
    customers.write_record(&row)?;
    if opts.broken_rows && home.n == 15 {
        customers.write_record(&row)?; // duplicate account
    }
    Ok(())
}

/// How a household's meter is read and how much it uses.
struct Meter {
    /// Use per day before the season and the month's noise.
    base: f64,
    unit: &'static str,
    /// Gallons (or kWh) in one `unit`.
    per_unit: f64,
    cycle_day: u32,
    /// Leading months without a bill (a new account).
    skip_months: u32,
}

/// Usage: per-person base, a household factor, seasonal swing, noise.
fn draw_meter(home: &Home, noise: &LogNormal, opts: &SynthOptions, rng: &mut ChaCha8Rng) -> Meter {
    let electric = opts.service == crate::model::Service::Electric;
    let high_user = rng.gen_range(0..12) == 0;
    let factor = rng.sample(noise) * if high_user { 1.8 } else { 1.0 };
    let base = if electric {
        // kWh a day: floor area and people; electric heat adds winter load.
        (6.0 + home.sqft as f64 / 180.0 + 1.5 * home.occupants as f64)
            * factor
            * if home.electric_heat { 1.25 } else { 1.0 }
    } else {
        55.0 * (home.occupants as f64).powf(0.8) * factor
    };
    let unit = if electric {
        "kWh"
    } else {
        match rng.gen_range(0..10) {
            0..=5 => "gal",
            6..=7 => "ccf",
            8 => "kgal",
            _ => "m3",
        }
    };
    let per_unit = match unit {
        "ccf" => 748.052,
        "kgal" => 1000.0,
        "m3" => 264.172,
        _ => 1.0,
    };
    let cycle_day = rng.gen_range(1..=24);
    // New accounts (about 3%) have only their last few bills.
    let skip_months = if rng.gen_range(0..33) == 0 && !home.showcase {
        opts.months.saturating_sub(3)
    } else {
        0
    };
    Meter {
        base,
        unit,
        per_unit,
        cycle_day,
        skip_months,
    }
}

/// The household's bills, one a month from `first_period`: each read date
/// jittered around its cycle day, use with the season and noise. A new
/// account's first months are drawn (read dates, noise) but not written;
/// only a bill written draws its estimated flag.
fn write_reads(
    usage: &mut CsvFile,
    home: &Home,
    meter: &Meter,
    first_period: Period,
    opts: &SynthOptions,
    rng: &mut ChaCha8Rng,
) -> Result<()> {
    let electric = opts.service == crate::model::Service::Electric;
    let account = &home.account;
    let mut start = read_date(first_period.offset(-1), meter.cycle_day, rng) + Duration::days(1);
    for m in 0..opts.months {
        let period = first_period.offset(m as i32);
        let end = read_date(period, meter.cycle_day, rng);
        let days = (end - start).num_days() + 1;
        let mut gallons = meter.base
            * season(period, electric)
            * days as f64
            * rng.sample(LogNormal::new(0.0, 0.08).expect("valid"));
        // Applied after every draw, so the planted effect changes nothing else.
        if let Some(e) = &opts.effect
            && period >= e.from
            && e.treated.contains(account)
        {
            gallons *= 1.0 - e.pct / 100.0;
        }
        if m >= meter.skip_months {
            let quantity = format!("{:.2}", gallons / meter.per_unit);
            let estimated = if rng.gen_range(0..40) == 0 {
                "true"
            } else {
                "false"
            };
            usage.write_record([
                account.as_str(),
                &start.to_string(),
                &end.to_string(),
                &quantity,
                meter.unit,
                estimated,
            ])?;
        }
        start = end + Duration::days(1);
    }
    Ok(())
}

/// The month's seasonal factor on use.
fn season(period: Period, electric: bool) -> f64 {
    if electric {
        // Two peaks: cooling in July, heating in January.
        1.0 + 0.3 * (((period.month as f64) - 1.0) / 6.0 * std::f64::consts::TAU).cos()
    } else {
        1.0 + 0.45 * (((period.month as f64) - 4.0) / 12.0 * std::f64::consts::TAU).sin()
    }
}

/// One household per kind of bad read; each lands in the exceptions.
const BROKEN_READS: [[&str; 6]; 7] = [
    [
        "W000021",
        "2026-09-01",
        "2026-09-31",
        "4000",
        "gal",
        "false",
    ],
    [
        "W000022",
        "2026-10-05",
        "2026-09-05",
        "4000",
        "gal",
        "false",
    ],
    ["W000023", "2026-09-05", "2026-10-05", "-12", "gal", "false"],
    [
        "W000024",
        "2026-09-05",
        "2026-10-05",
        "lots",
        "gal",
        "false",
    ],
    [
        "W000025",
        "2026-09-05",
        "2026-10-05",
        "4000",
        "liters",
        "false",
    ],
    [
        "W000026",
        "2026-09-05",
        "2026-10-05",
        "4000",
        "kWh",
        "false",
    ],
    [
        "X999999",
        "2026-09-05",
        "2026-10-05",
        "4000",
        "gal",
        "false",
    ],
];

/// The bad reads at the end of `usage.csv`: no draws, so they can follow
/// every household's.
fn write_broken_reads(usage: &mut CsvFile, electric: bool) -> Result<()> {
    for mut row in BROKEN_READS {
        if electric {
            // The same mistakes in an electric utility's terms, and one
            // read no home could use.
            let account = row[0].replacen('W', "E", 1);
            let unit = match row[4] {
                "gal" => "kWh",
                "kWh" => "gal",
                other => other,
            };
            row[4] = unit;
            usage.write_record([account.as_str(), row[1], row[2], row[3], row[4], row[5]])?;
        } else {
            usage.write_record(row)?;
        }
    }
    if electric {
        usage.write_record([
            "E000027",
            "2026-09-05",
            "2026-10-05",
            "1e308",
            "kWh",
            "false",
        ])?;
    }
    Ok(())
}

/// The station every synthetic household lives with.
pub const STATION: &str = "maple-valley";

/// Hourly temperatures of a Central Valley town (°F, UTC hours): a year's
/// cycle from about 46 °F in January to 76 °F in July, afternoons 20 °F
/// warmer than nights, and spells of warm or cold days; drawn from their own
/// generator, so the customers and reads are the same with or without them.
fn write_weather(path: &Path, first: NaiveDate, last: NaiveDate, seed: u64) -> Result<()> {
    use std::f64::consts::TAU;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5EA7_4E12);
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(["station", "time", "temp_f"])?;
    let mut spell = 0.0;
    let mut day = first;
    while day <= last {
        let doy = day.ordinal0() as f64;
        spell = 0.8 * spell + rng.gen_range(-3.0..3.0);
        let mean = 61.0 - 15.0 * ((doy - 15.0) / 365.25 * TAU).cos() + spell;
        for hour in 0..24 {
            // Local (UTC-8) afternoons at 15:00 are the warmest.
            let local = (hour as f64 - 8.0).rem_euclid(24.0);
            let t = mean + 10.0 * ((local - 9.0) / 24.0 * TAU).sin() + rng.gen_range(-1.0..1.0);
            w.write_record([
                STATION,
                &format!("{day}T{hour:02}:00:00Z"),
                &format!("{t:.1}"),
            ])?;
        }
        day += Duration::days(1);
    }
    w.flush()?;
    Ok(())
}

/// A meter-read date near `cycle_day` of the period's month, jittered a few days.
fn read_date(period: Period, cycle_day: u32, rng: &mut ChaCha8Rng) -> NaiveDate {
    let day = (cycle_day as i64 + rng.gen_range(-3..=3)).clamp(1, 28) as u32;
    NaiveDate::from_ymd_opt(period.year, period.month, day).expect("valid day")
}
