//! Calendar arithmetic on virtual epoch milliseconds, for the two places RocketMQ's storage names
//! things by the calendar: the client message id counts milliseconds since the start of the current
//! month (`MessageClientIDSetter.setStartTime`), and IndexFiles are named `yyyyMMddHHmmssSSS`
//! (`UtilAll.timeMillisToHumanString`).
//!
//! RocketMQ uses `java.util.Calendar` in the JVM's local time zone. The simulator has no time zone,
//! so everything here is UTC (a JVM started with `-Duser.timezone=UTC` behaves the same). The
//! day-count conversions are Howard Hinnant's `days_from_civil` / `civil_from_days`, integer-only.

const MILLIS_PER_DAY: i64 = 86_400_000;

/// A UTC calendar date and time of day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CivilTime {
    pub year: i64,
    /// 1..=12
    pub month: u32,
    /// 1..=31
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub millisecond: u32,
}

/// Days since 1970-01-01 of the proleptic Gregorian date `year-month-day`.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let month = i64::from(month);
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day count since 1970-01-01: `(year, month 1..=12, day 1..=31)`.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // The ranges are guaranteed by the algorithm: month in 1..=12, day in 1..=31.
    (year, month as u32, day as u32)
}

/// Splits epoch milliseconds into a UTC calendar time.
pub fn civil_time(epoch_millis: i64) -> CivilTime {
    let days = epoch_millis.div_euclid(MILLIS_PER_DAY);
    let millis_of_day = epoch_millis.rem_euclid(MILLIS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    CivilTime {
        year,
        month,
        day,
        hour: (millis_of_day / 3_600_000) as u32,
        minute: (millis_of_day / 60_000 % 60) as u32,
        second: (millis_of_day / 1000 % 60) as u32,
        millisecond: (millis_of_day % 1000) as u32,
    }
}

/// Epoch millis of 00:00:00.000 on the 1st of the month containing `epoch_millis`.
pub fn month_start(epoch_millis: i64) -> i64 {
    let time = civil_time(epoch_millis);
    days_from_civil(time.year, time.month, 1) * MILLIS_PER_DAY
}

/// Epoch millis of the start of the month after the one containing `epoch_millis`
/// (`Calendar.add(MONTH, 1)` on a month start).
pub fn next_month_start(epoch_millis: i64) -> i64 {
    let time = civil_time(epoch_millis);
    let (year, month) = if time.month == 12 { (time.year + 1, 1) } else { (time.year, time.month + 1) };
    days_from_civil(year, month, 1) * MILLIS_PER_DAY
}

/// Epoch millis of the start of the month before the one containing `epoch_millis`.
pub fn previous_month_start(epoch_millis: i64) -> i64 {
    let time = civil_time(epoch_millis);
    let (year, month) = if time.month == 1 { (time.year - 1, 12) } else { (time.year, time.month - 1) };
    days_from_civil(year, month, 1) * MILLIS_PER_DAY
}

/// `UtilAll.timeMillisToHumanString`: `yyyyMMddHHmmssSSS`, e.g. `20240229235959999`.
pub fn time_millis_to_human_string(epoch_millis: i64) -> String {
    let t = civil_time(epoch_millis);
    format!("{:04}{:02}{:02}{:02}{:02}{:02}{:03}", t.year, t.month, t.day, t.hour, t.minute, t.second, t.millisecond)
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2024-02-29T23:59:59.999Z, a leap day.
    const LEAP_DAY_LAST_MILLI: i64 = 1_709_251_199_999;

    #[test]
    fn epoch_day_zero_is_first_of_january_1970() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn day_counts_round_trip_across_four_centuries() {
        for days in (-146_097..146_097).step_by(97) {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(days_from_civil(year, month, day), days);
        }
    }

    #[test]
    fn leap_day_is_formatted_as_rocketmq_names_index_files() {
        assert_eq!(time_millis_to_human_string(LEAP_DAY_LAST_MILLI), "20240229235959999");
        assert_eq!(time_millis_to_human_string(0), "19700101000000000");
    }

    #[test]
    fn month_boundaries_of_a_leap_february() {
        // 2024-02-01T00:00:00Z and 2024-03-01T00:00:00Z
        assert_eq!(month_start(LEAP_DAY_LAST_MILLI), 1_706_745_600_000);
        assert_eq!(next_month_start(LEAP_DAY_LAST_MILLI), 1_709_251_200_000);
        assert_eq!(previous_month_start(LEAP_DAY_LAST_MILLI), 1_704_067_200_000);
        assert_eq!(next_month_start(1_703_980_800_000), 1_704_067_200_000, "December rolls into January");
    }
}
