//! Time on the wire: ISO 8601 UTC with exactly three fractional digits and `Z`
//! (`2021-11-26T12:41:02.193Z`); in the database: epoch milliseconds.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;

/// The server clock: real time unless a sandbox set, moved or froze it. It lives in the
/// application state; each request reads it through [`now_ms`], which the `use_clock`
/// middleware points at the state's clock for the request's duration.
#[derive(Debug, Clone, Default)]
pub struct Clock(Arc<Mutex<Mode>>);

/// How the clock runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "mode")]
pub enum Mode {
    #[default]
    Real,
    /// Real time moved by this many milliseconds.
    Offset { offset_ms: i64 },
    /// Stopped at this instant (epoch milliseconds).
    Frozen { at_ms: i64 },
}

impl Clock {
    fn mode(&self) -> Mode {
        // A mode is one value: nothing a panic could leave half-written.
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn now_ms(&self) -> i64 {
        let real = Utc::now().timestamp_millis();
        match self.mode() {
            Mode::Real => real,
            Mode::Offset { offset_ms } => real.saturating_add(offset_ms),
            Mode::Frozen { at_ms } => at_ms,
        }
    }

    pub fn state(&self) -> Mode {
        self.mode()
    }

    /// Sets the time to `at_ms`, frozen there or running on from it.
    pub fn set(&self, at_ms: i64, frozen: bool) {
        let mode = if frozen {
            Mode::Frozen { at_ms }
        } else {
            Mode::Offset {
                offset_ms: at_ms - Utc::now().timestamp_millis(),
            }
        };
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = mode;
    }

    /// Moves the time by `ms` (frozen or running, as it was).
    pub fn advance(&self, ms: i64) {
        let mut mode = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *mode = match *mode {
            Mode::Real => Mode::Offset { offset_ms: ms },
            Mode::Offset { offset_ms } => Mode::Offset {
                offset_ms: offset_ms.saturating_add(ms),
            },
            Mode::Frozen { at_ms } => Mode::Frozen {
                at_ms: at_ms.saturating_add(ms),
            },
        };
    }

    /// Back to real time.
    pub fn real(&self) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Mode::Real;
    }
}

tokio::task_local! {
    static CLOCK: Clock;
}

/// The current time in epoch milliseconds: the serving application's clock inside a request,
/// real time elsewhere (the admin CLI, background tasks).
pub fn now_ms() -> i64 {
    CLOCK
        .try_with(Clock::now_ms)
        .unwrap_or_else(|_| Utc::now().timestamp_millis())
}

/// Middleware: the request reads the application's clock.
pub async fn use_clock(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    CLOCK.scope(state.clock.clone(), next.run(request)).await
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
