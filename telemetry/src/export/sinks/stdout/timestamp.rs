//! The timestamps of log records' JSON lines: RFC 3339 in UTC with nanoseconds, from
//! the proleptic Gregorian date of a day.

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (RFC 3339, UTC, nine fraction digits) from ns since
/// the Unix epoch.
pub(super) fn rfc3339_nanos(unix_nanos: u64, buf: &mut Vec<u8>) {
    let secs = unix_nanos / 1_000_000_000;
    let (year, month, day) = civil_date(secs / 86_400);
    let of_day = secs % 86_400;
    let mut text = *b"0000-00-00T00:00:00.000000000Z";
    digits(&mut text[0..4], year);
    digits(&mut text[5..7], month);
    digits(&mut text[8..10], day);
    digits(&mut text[11..13], of_day / 3600);
    digits(&mut text[14..16], (of_day / 60) % 60);
    digits(&mut text[17..19], of_day % 60);
    digits(&mut text[20..29], unix_nanos % 1_000_000_000);
    buf.extend_from_slice(&text);
}

/// Writes the last `out.len()` decimal digits of `v` into `out`, zero-padded.
fn digits(out: &mut [u8], mut v: u64) {
    for d in out.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// The proleptic Gregorian date (year, month, day) of a day counted from 1970-01-01
/// (Howard Hinnant's `civil_from_days`, for days on or after the epoch).
fn civil_date(days: u64) -> (u64, u64, u64) {
    // Counted from 0000-03-01, so the leap day ends each 4-, 100- and 400-year cycle.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153; // 0 is March
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::START;
    use super::*;

    /// Every day from 1970 to 2600 is the day after the one before: the date
    /// arithmetic has no gap or repeat at any month, leap day or century.
    #[test]
    fn dates_follow_one_another_day_by_day() {
        let days_in = |y: u64, m: u64| match m {
            2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let mut expected = (1970, 1, 1);
        for day in 0..230_000 {
            assert_eq!(civil_date(day), expected, "day {day}");
            let (y, m, d) = expected;
            expected = if d < days_in(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
        }
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_nanoseconds() {
        let text = |ns: u64| {
            let mut buf = Vec::new();
            rfc3339_nanos(ns, &mut buf);
            String::from_utf8(buf).unwrap()
        };
        assert_eq!(text(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(text(START), "2023-11-14T22:13:20.123456789Z");
        // 2000-02-29, a leap day of a year divisible by 400.
        assert_eq!(
            text(951_782_400_000_000_001),
            "2000-02-29T00:00:00.000000001Z"
        );
        assert_eq!(text(u64::MAX), "2554-07-21T23:34:33.709551615Z");
    }
}
