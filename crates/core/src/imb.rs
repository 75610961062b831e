//! USPS Intelligent Mail barcode (IMb), encoded as in USPS-B-3200: a 20-digit
//! tracking code (barcode ID, service type, mailer ID, serial number) and a
//! 0/5/9/11-digit routing code (delivery ZIP) become 65 bars, each one of
//! `F` (full), `A` (ascender), `D` (descender) or `T` (tracker).
//!
//! The steps follow the specification's own numbering: (1) the fields become
//! one 102-bit number, (2) an 11-bit CRC over it, (3) ten codewords by mixed
//! radix, (4) orientation and the CRC's top bit, (5) codewords to 13-bit
//! characters through the 5-of-13 and 2-of-13 tables, the other ten CRC bits
//! negating characters, (6) characters to bars through the bar map. The unit
//! tests check every step against the specification's published examples.

use std::fmt;
use std::sync::OnceLock;

/// Why a barcode cannot be made: the fields are checked, never padded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImbError(pub String);

impl fmt::Display for ImbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Intelligent Mail barcode: {}", self.0)
    }
}

impl std::error::Error for ImbError {}

fn digits(field: &str, what: &str, lengths: &[usize]) -> Result<(), ImbError> {
    if !field.bytes().all(|b| b.is_ascii_digit()) || !lengths.contains(&field.len()) {
        let lengths: Vec<String> = lengths.iter().map(|l| l.to_string()).collect();
        return Err(ImbError(format!(
            "{what} {field:?} must be {} digits",
            lengths.join(" or ")
        )));
    }
    Ok(())
}

/// The 20-digit tracking code. A 6-digit mailer ID takes a 9-digit serial,
/// a 9-digit mailer ID a 6-digit one.
pub fn tracking_code(
    barcode_id: &str,
    service_type: &str,
    mailer_id: &str,
    serial: &str,
) -> Result<String, ImbError> {
    digits(barcode_id, "barcode ID", &[2])?;
    if barcode_id.as_bytes()[1] > b'4' {
        return Err(ImbError(format!(
            "barcode ID {barcode_id:?}: its second digit must be 0-4"
        )));
    }
    digits(service_type, "service type", &[3])?;
    digits(mailer_id, "mailer ID", &[6, 9])?;
    digits(serial, "serial number", &[15 - mailer_id.len()])?;
    Ok(format!("{barcode_id}{service_type}{mailer_id}{serial}"))
}

/// Step 1: tracking and routing codes as one number (at most 102 bits).
fn binary(tracking: &str, routing: &str) -> Result<u128, ImbError> {
    digits(tracking, "tracking code", &[20])?;
    digits(routing, "routing code", &[0, 5, 9, 11])?;
    let parsed: u128 = if routing.is_empty() {
        0
    } else {
        routing.parse().expect("checked digits")
    };
    let mut value = match routing.len() {
        0 => 0,
        5 => parsed + 1,
        9 => parsed + 100_000 + 1,
        _ => parsed + 1_000_000_000 + 100_000 + 1,
    };
    let t: Vec<u128> = tracking.bytes().map(|b| u128::from(b - b'0')).collect();
    if t[1] > 4 {
        return Err(ImbError("the barcode ID's second digit must be 0-4".into()));
    }
    value = value * 10 + t[0];
    value = value * 5 + t[1];
    for d in &t[2..] {
        value = value * 10 + d;
    }
    Ok(value)
}

/// Step 2: the 11-bit frame check sequence over the 102 bits, sent as 13
/// bytes with the first byte's top two bits skipped.
fn crc11(value: u128) -> u16 {
    const POLYNOMIAL: u16 = 0x0F35;
    let bytes = &value.to_be_bytes()[3..];
    let mut fcs: u16 = 0x07FF;
    for (i, byte) in bytes.iter().enumerate() {
        let (mut data, bits) = if i == 0 {
            (u16::from(*byte) << 5, 6)
        } else {
            (u16::from(*byte) << 3, 8)
        };
        for _ in 0..bits {
            fcs = if (fcs ^ data) & 0x400 != 0 {
                (fcs << 1) ^ POLYNOMIAL
            } else {
                fcs << 1
            } & 0x7FF;
            data <<= 1;
        }
    }
    fcs
}

/// Step 3: ten codewords A..J; J in base 636, B..I in base 1365, A the rest.
fn codewords(mut value: u128) -> [u16; 10] {
    let mut words = [0u16; 10];
    words[9] = (value % 636) as u16;
    value /= 636;
    for word in words[1..9].iter_mut().rev() {
        *word = (value % 1365) as u16;
        value /= 1365;
    }
    words[0] = value as u16;
    words
}

/// Step 4: J doubled (orientation); A takes the CRC's bit 10.
fn orient(mut words: [u16; 10], fcs: u16) -> [u16; 10] {
    words[9] *= 2;
    if fcs & 0x400 != 0 {
        words[0] += 659;
    }
    words
}

/// The n-of-13 table: 13-bit values with `n` bits set, each value and its
/// bit reversal side by side from the front, palindromes from the back.
fn n_of_13(n: u32, len: usize) -> Vec<u16> {
    let mut table = vec![0u16; len];
    let (mut lower, mut upper) = (0, len - 1);
    for count in 0u16..8192 {
        if count.count_ones() != n {
            continue;
        }
        let reverse = count.reverse_bits() >> 3;
        if reverse < count {
            continue;
        }
        if reverse == count {
            table[upper] = count;
            upper = upper.saturating_sub(1);
        } else {
            table[lower] = count;
            table[lower + 1] = reverse;
            lower += 2;
        }
    }
    table
}

fn tables() -> &'static (Vec<u16>, Vec<u16>) {
    static TABLES: OnceLock<(Vec<u16>, Vec<u16>)> = OnceLock::new();
    TABLES.get_or_init(|| (n_of_13(5, 1287), n_of_13(2, 78)))
}

/// Step 5: codewords to characters; CRC bits 0-9 negate characters A-J.
fn characters(words: [u16; 10], fcs: u16) -> [u16; 10] {
    let (five, two) = tables();
    let mut chars = [0u16; 10];
    for (i, w) in words.iter().enumerate() {
        let w = usize::from(*w);
        chars[i] = if w < 1287 { five[w] } else { two[w - 1287] };
        if fcs & (1 << i) != 0 {
            chars[i] = !chars[i] & 0x1FFF;
        }
    }
    chars
}

/// Step 6's bar map: for bars 1 to 65, (descender character, bit, ascender
/// character, bit), characters A-J numbered 0-9.
const BARS: [(u8, u8, u8, u8); 65] = [
    (7, 2, 4, 3),
    (1, 10, 0, 0),
    (9, 12, 2, 8),
    (5, 5, 6, 11),
    (8, 9, 3, 1),
    (0, 1, 5, 12),
    (2, 5, 1, 8),
    (4, 4, 9, 11),
    (6, 3, 8, 10),
    (3, 9, 7, 6),
    (5, 11, 1, 4),
    (8, 5, 2, 12),
    (9, 10, 0, 2),
    (7, 1, 6, 7),
    (3, 6, 4, 9),
    (0, 3, 8, 6),
    (6, 4, 2, 7),
    (1, 1, 9, 9),
    (7, 10, 5, 2),
    (4, 0, 3, 8),
    (6, 2, 0, 4),
    (8, 11, 1, 0),
    (9, 8, 3, 12),
    (2, 6, 7, 7),
    (5, 1, 4, 10),
    (1, 12, 6, 9),
    (7, 3, 8, 0),
    (5, 8, 9, 7),
    (4, 6, 2, 10),
    (3, 4, 0, 5),
    (8, 4, 5, 7),
    (7, 11, 1, 9),
    (6, 0, 9, 6),
    (0, 6, 4, 8),
    (2, 1, 3, 2),
    (5, 9, 8, 12),
    (4, 11, 6, 1),
    (9, 5, 7, 4),
    (3, 3, 1, 2),
    (0, 7, 2, 0),
    (1, 3, 4, 1),
    (6, 10, 3, 5),
    (8, 7, 9, 4),
    (2, 11, 5, 6),
    (0, 8, 7, 12),
    (4, 2, 8, 1),
    (5, 10, 3, 0),
    (9, 3, 0, 9),
    (6, 5, 2, 4),
    (7, 8, 1, 7),
    (5, 0, 4, 5),
    (2, 3, 0, 10),
    (6, 12, 9, 2),
    (3, 11, 1, 6),
    (8, 8, 7, 9),
    (5, 4, 0, 11),
    (1, 5, 2, 2),
    (9, 1, 4, 12),
    (8, 3, 6, 6),
    (7, 0, 3, 7),
    (4, 7, 7, 5),
    (0, 12, 1, 11),
    (2, 9, 9, 0),
    (6, 8, 5, 3),
    (3, 10, 8, 2),
];

fn bars(chars: [u16; 10]) -> String {
    let bit = |c: u8, b: u8| chars[usize::from(c)] & (1 << b) != 0;
    BARS.iter()
        .map(|&(dc, db, ac, ab)| match (bit(dc, db), bit(ac, ab)) {
            (true, true) => 'F',
            (false, true) => 'A',
            (true, false) => 'D',
            (false, false) => 'T',
        })
        .collect()
}

/// The 65 bars (`F`, `A`, `D`, `T`) for a tracking code and routing code.
pub fn encode(tracking: &str, routing: &str) -> Result<String, ImbError> {
    let value = binary(tracking, routing)?;
    let fcs = crc11(value);
    Ok(bars(characters(orient(codewords(value), fcs), fcs)))
}

/// The serial number of the piece at `sequence` (1-based presort position)
/// in `period`'s run: the month's number modulo 10, then the sequence, so a
/// re-run of a period gives each piece the same serial and no serial comes
/// back within ten months (USPS asks for 45 days). `width` is 9 with a
/// 6-digit mailer ID and 6 with a 9-digit one.
///
/// A sharded run splits the sequence digits into `shard.count` equal
/// ranges and numbers its pieces inside its own, so shards printed on
/// different machines never share a serial; the whole period is shard 0/1
/// and keeps the plain sequence.
pub fn serial(
    period: crate::model::Period,
    shard: crate::shard::Shard,
    sequence: usize,
    width: usize,
) -> Result<String, ImbError> {
    let month = (period.year as usize * 12 + period.month as usize - 1) % 10;
    let room = 10usize.pow(width as u32 - 1) / shard.count as usize;
    if sequence >= room {
        let whose = if shard.is_whole() {
            String::new()
        } else {
            format!(" in shard {shard}'s share")
        };
        return Err(ImbError(format!(
            "{sequence} pieces do not fit{whose} of a {width}-digit serial number (at most {})",
            room - 1
        )));
    }
    let number = shard.index as usize * room + sequence;
    Ok(format!("{month}{number:0w$}", w = width - 1))
}

/// The fixed fields of a mailer's barcodes (`[print.imb]` in the config).
pub struct Fields<'a> {
    pub barcode_id: &'a str,
    pub service_type: &'a str,
    pub mailer_id: &'a str,
}

/// A piece's serial number and bars.
pub fn for_piece(
    settings: &Fields<'_>,
    period: crate::model::Period,
    shard: crate::shard::Shard,
    sequence: usize,
    zip: &str,
) -> Result<(String, String), ImbError> {
    // The serial's width follows from the mailer ID's: check that first.
    digits(settings.mailer_id, "mailer ID", &[6, 9])?;
    let serial = serial(period, shard, sequence, 15 - settings.mailer_id.len())?;
    let tracking = tracking_code(
        settings.barcode_id,
        settings.service_type,
        settings.mailer_id,
        &serial,
    )?;
    Ok((serial, encode(&tracking, &routing_code(zip))?))
}

/// The routing code for a delivery ZIP as neighborly stores it (`12345` or
/// `12345-6789`): its digits.
pub fn routing_code(zip: &str) -> String {
    zip.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// USPS-B-3200 Appendix C: barcode ID 01, service type 234, mailer ID
    /// 567094, serial 987654321, with four routing codes: (routing, binary
    /// data, FCS, codewords, bars).
    const TRACKING: &str = "01234567094987654321";
    const EXAMPLES: [(&str, &str, u16, [u16; 10], &str); 4] = [
        (
            "",
            "00000000001122103B5C2004B1",
            0x051,
            [0, 0, 0, 0, 559, 202, 508, 451, 124, 17],
            "ATTFATTDTTADTAATTDTDTATTDAFDDFADFDFTFFFFFTATFAAAATDFFTDAADFTFDTDT",
        ),
        (
            "01234",
            "0000000D138A87BAB5CF3804B1",
            0x065,
            [0, 0, 15, 14, 290, 567, 385, 48, 388, 333],
            "DTTAFADDTTFTDTFTFDTDDADADAFADFATDDFTAAAFDTTADFAAATDFDTDFADDDTDFFT",
        ),
        (
            "012345678",
            "000202BDC097711204D21804B1",
            0x606,
            [0, 110, 1113, 1363, 198, 413, 470, 468, 1333, 513],
            "ADFTTAFDTTTTFATTADTAAATFTFTATDAAAFDDADATATDTDTTDFDTDATADADTDFFTFA",
        ),
        (
            "01234567891",
            "016907B2A24ABC16A2E5C004B1",
            0x751,
            [14, 787, 607, 1022, 861, 19, 816, 1294, 35, 301],
            "AADTFFDFTDADTAADAATFDTDDAAADDTDTTDAFADADDDTFFFDDTTTADFAAADFTDAADA",
        ),
    ];

    #[test]
    fn the_specification_examples_come_out_at_every_step() {
        for (routing, hex, fcs, words, expected) in EXAMPLES {
            let value = binary(TRACKING, routing).unwrap();
            let bytes: String = value.to_be_bytes()[3..]
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect();
            assert_eq!(bytes, hex, "step 1, routing {routing:?}");
            assert_eq!(crc11(value), fcs, "step 2, routing {routing:?}");
            assert_eq!(codewords(value), words, "step 3, routing {routing:?}");
            assert_eq!(encode(TRACKING, routing).unwrap(), expected, "{routing:?}");
        }
    }

    #[test]
    fn orientation_and_characters_match_the_worked_example() {
        // Appendix C's fourth example prints steps 4 and 5 in full.
        let value = binary(TRACKING, "01234567891").unwrap();
        let fcs = crc11(value);
        let words = orient(codewords(value), fcs);
        assert_eq!(words, [673, 787, 607, 1022, 861, 19, 816, 1294, 35, 602]);
        assert_eq!(
            characters(words, 0),
            [
                0x1234, 0x085C, 0x08E4, 0x0B06, 0x1922, 0x1740, 0x0839, 0x1200, 0x0DC0, 0x04D4
            ]
        );
        assert_eq!(
            characters(words, fcs),
            [
                0x0DCB, 0x085C, 0x08E4, 0x0B06, 0x06DD, 0x1740, 0x17C6, 0x1200, 0x123F, 0x1B2B
            ]
        );
    }

    #[test]
    fn tables_hold_every_pattern_once() {
        let (five, two) = tables();
        assert_eq!((five[0], five[1286]), (0b11111, 0b0_0001_1111_0000));
        assert!(five.iter().all(|v| v.count_ones() == 5));
        assert!(two.iter().all(|v| v.count_ones() == 2));
        let mut all: Vec<u16> = five.iter().chain(two.iter()).copied().collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 1287 + 78);
        // The bar map uses each of the 130 character bits exactly once.
        let mut used: Vec<(u8, u8)> = BARS
            .iter()
            .flat_map(|&(dc, db, ac, ab)| [(dc, db), (ac, ab)])
            .collect();
        used.sort_unstable();
        used.dedup();
        assert_eq!(used.len(), 130);
        assert!(used.iter().all(|&(c, b)| c < 10 && b < 13));
    }

    #[test]
    fn fields_are_checked_not_padded() {
        assert_eq!(
            tracking_code("01", "234", "567094", "987654321").unwrap(),
            TRACKING
        );
        assert_eq!(
            tracking_code("01", "234", "567094321", "987654").unwrap(),
            "01234567094321987654"
        );
        assert!(tracking_code("05", "234", "567094", "987654321").is_err());
        assert!(tracking_code("01", "234", "567094", "98765").is_err());
        assert!(tracking_code("01", "234", "5670", "987654321").is_err());
        assert!(tracking_code("01", "2a4", "567094", "987654321").is_err());
        assert!(encode(TRACKING, "1234").is_err());
        assert!(encode(&TRACKING[..19], "").is_err());
        assert_eq!(routing_code("95616-1234"), "956161234");
    }

    #[test]
    fn serials_differ_between_months_and_repeat_on_rerun() {
        let oct = crate::model::Period {
            year: 2026,
            month: 10,
        };
        let nov = crate::model::Period {
            year: 2026,
            month: 11,
        };
        let whole = crate::shard::Shard::WHOLE;
        assert_eq!(serial(oct, whole, 42, 9).unwrap(), "100000042");
        assert_eq!(serial(nov, whole, 42, 9).unwrap(), "200000042");
        assert_eq!(serial(oct, whole, 42, 9), serial(oct, whole, 42, 9));
        assert_eq!(serial(oct, whole, 99_999, 6).unwrap(), "199999");
        assert!(serial(oct, whole, 100_000, 6).is_err());
        // Shards number inside their own quarter of the sequence digits.
        let third: crate::shard::Shard = "3/4".parse().unwrap();
        assert_eq!(serial(oct, third, 42, 9).unwrap(), "175000042");
        assert_eq!(serial(oct, third, 24_999, 6).unwrap(), "199999");
        assert!(serial(oct, third, 25_000, 6).is_err());
    }
}
