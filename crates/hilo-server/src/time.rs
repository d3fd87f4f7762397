//! Time on the wire: ISO 8601 UTC with exactly three fractional digits and `Z`
//! (`2021-11-26T12:41:02.193Z`); in the database: epoch milliseconds.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

pub fn format_ms(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An ISO 8601 date-time with a zone (`2020-10-25T11:00:00Z`, `…+01:00`, with or without
/// fractions), as epoch milliseconds.
pub fn parse_datetime_ms(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// A date of birth in any of the formats the spec lists (`YYYY/MM/DD, MM/DD/YYYY, YYYY-MM-DD,
/// MM-DD-YYYY, YYYY.MM.DD, MM.DD.YYYY, YYYY_MM_DD, MM_DD_YYYY`); an ISO date-time is accepted
/// too, since clients echo back what hilo returns.
pub fn parse_birth_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if let Some(t) = parse_datetime_ms(s) {
        return DateTime::<Utc>::from_timestamp_millis(t).map(|t| t.date_naive());
    }
    let sep = s.chars().find(|c| ['/', '-', '.', '_'].contains(c))?;
    let parts: Vec<&str> = s.split(sep).collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let (y, m, d) = if a.len() == 4 { (a, b, c) } else { (c, a, b) };
    if y.len() != 4 || m.is_empty() || m.len() > 2 || d.is_empty() || d.len() > 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_timestamps_have_millis_and_z() {
        assert_eq!(format_ms(1_637_930_462_193), "2021-11-26T12:41:02.193Z");
        assert_eq!(format_ms(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn datetimes_with_any_zone_and_precision() {
        assert_eq!(
            parse_datetime_ms("2020-10-25T11:00:00Z"),
            Some(1_603_623_600_000)
        );
        assert_eq!(
            parse_datetime_ms("2020-10-25T12:00:00.000+01:00"),
            Some(1_603_623_600_000)
        );
        assert_eq!(parse_datetime_ms("2020-10-25"), None);
        assert_eq!(parse_datetime_ms("tomorrow"), None);
    }

    #[test]
    fn every_documented_birth_date_format() {
        let want = NaiveDate::from_ymd_opt(1990, 9, 25);
        for s in [
            "1990/09/25",
            "09/25/1990",
            "1990-09-25",
            "09-25-1990",
            "1990.09.25",
            "09.25.1990",
            "1990_09_25",
            "09_25_1990",
            "1990-09-25T00:00:00.000Z",
        ] {
            assert_eq!(parse_birth_date(s), want, "{s}");
        }
        for bad in ["1990-13-01", "25/09", "", "abc", "1990-02-30", "90-09-25"] {
            assert_eq!(parse_birth_date(bad), None, "{bad}");
        }
    }
}
