//! Message times and day labels. The server renders them in UTC, as it
//! cannot know the reader's zone; once the page has hydrated, the browser
//! renders them in the reader's zone and locale (`Intl.DateTimeFormat`:
//! "14:05" or "2:05 PM", "Monday 24 November" or "Monday, November 24").
//! Neither side uses chrono's strftime engine, which kept 9 KB (brotli) in
//! the wasm.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use leptos::prelude::*;

/// True once the page runs in the browser.
#[derive(Clone, Copy)]
pub struct Hydrated(pub RwSignal<bool>);

/// Provides [`Hydrated`], flipped to true after hydration.
pub fn provide_hydrated() {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    provide_context(Hydrated(hydrated));
}

#[cfg(feature = "hydrate")]
fn is_hydrated() -> bool {
    use_context::<Hydrated>().is_some_and(|hydrated| hydrated.0.get())
}

/// "14:05" (in the browser, as its locale writes the time).
pub fn clock_time(at: &DateTime<Utc>) -> String {
    #[cfg(feature = "hydrate")]
    if is_hydrated() {
        return browser::clock_time(at);
    }
    format!("{:02}:{:02}", at.hour(), at.minute())
}

/// The calendar day of `at` ("2025-11-24"), used to place day separators.
pub fn day_key(at: &DateTime<Utc>) -> String {
    #[cfg(feature = "hydrate")]
    if is_hydrated() {
        return iso_day(browser::local_day(at));
    }
    iso_day(at.date_naive())
}

/// "Today", "Yesterday", "Monday 24 November" or "24 November 2025".
pub fn day_label(at: &DateTime<Utc>) -> String {
    #[cfg(feature = "hydrate")]
    if is_hydrated() {
        return browser::day_label(at);
    }
    utc_day_label(at.date_naive(), Utc::now().date_naive())
}

/// How a day separator names a day, by how far back it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DayName {
    Today,
    Yesterday,
    /// Within the last week: the weekday, day and month.
    Weekday,
    /// Earlier this year: day and month.
    DayMonth,
    /// An earlier year: day, month and year.
    DayMonthYear,
}

impl DayName {
    fn of(day: NaiveDate, today: NaiveDate) -> Self {
        match (today - day).num_days() {
            // A time ahead of the reader's clock is today too.
            ..=0 => Self::Today,
            1 => Self::Yesterday,
            2..=6 => Self::Weekday,
            _ if day.year() == today.year() => Self::DayMonth,
            _ => Self::DayMonthYear,
        }
    }

    /// "Today" and "Yesterday"; `None` for a name built from the date.
    fn word(self) -> Option<&'static str> {
        match self {
            Self::Today => Some("Today"),
            Self::Yesterday => Some("Yesterday"),
            _ => None,
        }
    }
}

fn iso_day(day: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", day.year(), day.month(), day.day())
}

/// The server's label, in English and UTC.
fn utc_day_label(day: NaiveDate, today: NaiveDate) -> String {
    const WEEKDAYS: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    let name = DayName::of(day, today);
    if let Some(word) = name.word() {
        return word.to_owned();
    }
    let month = chrono::Month::try_from(u8::try_from(day.month()).unwrap_or(1))
        .map_or("", |month| month.name());
    let weekday = WEEKDAYS[day.weekday().num_days_from_monday() as usize];
    match name {
        DayName::Weekday => format!("{weekday} {} {month}", day.day()),
        DayName::DayMonth => format!("{} {month}", day.day()),
        _ => format!("{} {month} {}", day.day(), day.year()),
    }
}

/// The browser's zone and locale, through `Intl.DateTimeFormat` (formatters
/// made once: making one costs more than formatting with it).
#[cfg(feature = "hydrate")]
mod browser {
    use chrono::{DateTime, NaiveDate, Utc};
    use js_sys::Intl::{
        DateTimeFormat, DateTimeFormatOptions, DayFormat, MonthFormat, NumericFormat,
        WeekdayFormat, YearFormat,
    };
    use js_sys::{Array, Date};
    use wasm_bindgen::JsValue;

    use super::DayName;

    struct Formats {
        clock: DateTimeFormat,
        weekday: DateTimeFormat,
        day_month: DateTimeFormat,
        day_month_year: DateTimeFormat,
    }

    thread_local! {
        static FORMATS: Formats = Formats {
            clock: format(|options| {
                options.set_hour(NumericFormat::Numeric);
                options.set_minute(NumericFormat::TwoDigit);
            }),
            weekday: format(|options| {
                options.set_weekday(WeekdayFormat::Long);
                options.set_day(DayFormat::Numeric);
                options.set_month(MonthFormat::Long);
            }),
            day_month: format(|options| {
                options.set_day(DayFormat::Numeric);
                options.set_month(MonthFormat::Long);
            }),
            day_month_year: format(|options| {
                options.set_day(DayFormat::Numeric);
                options.set_month(MonthFormat::Long);
                options.set_year(YearFormat::Numeric);
            }),
        };
    }

    /// A formatter for the browser's own locale (no locale named).
    fn format(set: impl FnOnce(&DateTimeFormatOptions)) -> DateTimeFormat {
        let options = DateTimeFormatOptions::new();
        set(&options);
        DateTimeFormat::new(&Array::new(), &options)
    }

    fn date(at: &DateTime<Utc>) -> Date {
        #[expect(
            clippy::cast_precision_loss,
            reason = "milliseconds since 1970 fit in f64"
        )]
        Date::new(&JsValue::from_f64(at.timestamp_millis() as f64))
    }

    fn formatted(format: &DateTimeFormat, at: &DateTime<Utc>) -> String {
        format
            .format()
            .call1(&JsValue::NULL, &date(at))
            .ok()
            .and_then(|text| text.as_string())
            .unwrap_or_default()
    }

    fn calendar_day(date: &Date) -> NaiveDate {
        NaiveDate::from_ymd_opt(
            i32::try_from(date.get_full_year()).unwrap_or(1970),
            date.get_month() + 1,
            date.get_date(),
        )
        .unwrap_or_default()
    }

    pub fn clock_time(at: &DateTime<Utc>) -> String {
        FORMATS.with(|formats| formatted(&formats.clock, at))
    }

    /// The reader's calendar day at `at`.
    pub fn local_day(at: &DateTime<Utc>) -> NaiveDate {
        calendar_day(&date(at))
    }

    pub fn day_label(at: &DateTime<Utc>) -> String {
        let name = DayName::of(local_day(at), calendar_day(&Date::new_0()));
        if let Some(word) = name.word() {
            return word.to_owned();
        }
        FORMATS.with(|formats| {
            let format = match name {
                DayName::Weekday => &formats.weekday,
                DayName::DayMonth => &formats.day_month,
                _ => &formats.day_month_year,
            };
            formatted(format, at)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn days_are_named_by_how_far_back_they_are() {
        let today = day("2026-11-29");
        assert_eq!(DayName::of(today, today), DayName::Today);
        assert_eq!(DayName::of(day("2026-11-30"), today), DayName::Today);
        assert_eq!(DayName::of(day("2026-11-28"), today), DayName::Yesterday);
        assert_eq!(DayName::of(day("2026-11-23"), today), DayName::Weekday);
        assert_eq!(DayName::of(day("2026-11-22"), today), DayName::DayMonth);
        assert_eq!(DayName::of(day("2026-01-01"), today), DayName::DayMonth);
        assert_eq!(DayName::of(day("2025-12-31"), today), DayName::DayMonthYear);
    }

    #[test]
    fn the_server_writes_days_in_english() {
        let today = day("2026-11-29");
        assert_eq!(utc_day_label(today, today), "Today");
        assert_eq!(utc_day_label(day("2026-11-28"), today), "Yesterday");
        assert_eq!(
            utc_day_label(day("2026-11-24"), today),
            "Tuesday 24 November"
        );
        assert_eq!(utc_day_label(day("2026-03-01"), today), "1 March");
        assert_eq!(utc_day_label(day("2025-12-31"), today), "31 December 2025");
    }

    #[test]
    fn the_server_writes_times_and_days_in_utc() {
        let at: DateTime<Utc> = "2026-11-29T23:05:09+02:00".parse().unwrap();
        assert_eq!(clock_time(&at), "21:05");
        assert_eq!(day_key(&at), "2026-11-29");
        let early: DateTime<Utc> = "2026-01-02T00:07:00Z".parse().unwrap();
        assert_eq!(clock_time(&early), "00:07");
        assert_eq!(day_key(&early), "2026-01-02");
    }
}
