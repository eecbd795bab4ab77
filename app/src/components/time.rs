//! Message times and day labels. The server renders them in UTC, as it
//! cannot know the reader's zone; once the page has hydrated, the browser
//! renders them in the reader's zone and locale (`Intl.DateTimeFormat`:
//! "14:05" or "2:05 PM", "Monday 24 November" or "Monday, November 24"),
//! and names days anew at each local midnight. Neither side uses chrono's
//! strftime engine, which kept 9 KB (brotli) in the wasm.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use leptos::prelude::*;

/// Whether the page runs in the browser yet, and a count of the local
/// midnights it has seen: what times and day names depend on.
#[derive(Clone, Copy)]
pub struct LocalClock {
    hydrated: RwSignal<bool>,
    #[cfg_attr(
        not(feature = "hydrate"),
        expect(dead_code, reason = "the server renders once, in UTC")
    )]
    midnights: RwSignal<u32>,
}

/// Provides [`LocalClock`]: hydrated once the page has hydrated, then
/// ticking at each local midnight while the page stays open.
pub fn provide_local_clock() {
    let clock = LocalClock {
        hydrated: RwSignal::new(false),
        midnights: RwSignal::new(0),
    };
    Effect::new(move |_| clock.hydrated.set(true));
    #[cfg(feature = "hydrate")]
    browser::follow_midnights(clock.midnights);
    provide_context(clock);
}

/// True once hydrated (tracked, like the day it is: a name that depends on
/// today is computed again at midnight).
#[cfg(feature = "hydrate")]
fn is_hydrated() -> bool {
    use_context::<LocalClock>().is_some_and(|clock| {
        clock.midnights.track();
        clock.hydrated.get()
    })
}

/// `at` as `write` puts it, kept up to date: the server's text until the
/// page has hydrated, then the reader's. Each is a branch of its own, so the
/// switch always replaces the server's text: compared as strings, the
/// browser's first rendering (made with its own "today") can equal the
/// reader's text while the page still shows the server's.
pub fn live_time(at: DateTime<Utc>, write: fn(&DateTime<Utc>) -> String) -> impl IntoView {
    use leptos::either::Either;
    move || {
        let text = write(&at);
        #[cfg(feature = "hydrate")]
        if is_hydrated() {
            return Either::Left(text);
        }
        Either::<String, String>::Right(text)
    }
}

/// "14:05" (in the browser, as its locale writes the time).
pub fn clock_time(at: &DateTime<Utc>) -> String {
    #[cfg(feature = "hydrate")]
    if is_hydrated() {
        return browser::clock_time(at);
    }
    utc_clock(at)
}

fn utc_clock(at: &DateTime<Utc>) -> String {
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

/// When a conversation last moved, as the list shows it: "14:05" today, then
/// "Yesterday", the weekday within the week ("Mon"), "24 Nov", "24 Nov 2025".
pub fn list_time(at: &DateTime<Utc>) -> String {
    #[cfg(feature = "hydrate")]
    if is_hydrated() {
        return browser::list_time(at);
    }
    utc_list_time(at, Utc::now().date_naive())
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

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

fn weekday_name(day: NaiveDate) -> &'static str {
    WEEKDAYS[day.weekday().num_days_from_monday() as usize]
}

fn month_name(day: NaiveDate) -> &'static str {
    chrono::Month::try_from(u8::try_from(day.month()).unwrap_or(1)).map_or("", |month| month.name())
}

/// The first three letters of an English day or month name.
fn short(name: &str) -> &str {
    name.get(..3).unwrap_or(name)
}

/// The server's day label, in English and UTC.
fn utc_day_label(day: NaiveDate, today: NaiveDate) -> String {
    let name = DayName::of(day, today);
    if let Some(word) = name.word() {
        return word.to_owned();
    }
    let (weekday, month) = (weekday_name(day), month_name(day));
    match name {
        DayName::Weekday => format!("{weekday} {} {month}", day.day()),
        DayName::DayMonth => format!("{} {month}", day.day()),
        _ => format!("{} {month} {}", day.day(), day.year()),
    }
}

/// The server's list time, in English and UTC.
fn utc_list_time(at: &DateTime<Utc>, today: NaiveDate) -> String {
    let day = at.date_naive();
    let month = short(month_name(day));
    match DayName::of(day, today) {
        DayName::Today => utc_clock(at),
        DayName::Yesterday => "Yesterday".to_owned(),
        DayName::Weekday => short(weekday_name(day)).to_owned(),
        DayName::DayMonth => format!("{} {month}", day.day()),
        DayName::DayMonthYear => format!("{} {month} {}", day.day(), day.year()),
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

    use std::cell::Cell;
    use std::rc::Rc;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use leptos::prelude::{
        RwSignal, TimeoutHandle, Update, document, on_cleanup, set_timeout_with_handle,
        window_event_listener_untyped,
    };
    use web_sys::VisibilityState;

    use super::DayName;

    /// The formats of a day separator, and of the conversation list.
    struct Formats {
        clock: DateTimeFormat,
        weekday: DateTimeFormat,
        day_month: DateTimeFormat,
        day_month_year: DateTimeFormat,
        short_weekday: DateTimeFormat,
        short_day_month: DateTimeFormat,
        short_day_month_year: DateTimeFormat,
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
            short_weekday: format(|options| options.set_weekday(WeekdayFormat::Short)),
            short_day_month: format(|options| {
                options.set_day(DayFormat::Numeric);
                options.set_month(MonthFormat::Short);
            }),
            short_day_month_year: format(|options| {
                options.set_day(DayFormat::Numeric);
                options.set_month(MonthFormat::Short);
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

    /// How the reader's today names the day of `at`.
    fn day_name(at: &DateTime<Utc>) -> DayName {
        DayName::of(local_day(at), calendar_day(&Date::new_0()))
    }

    pub fn day_label(at: &DateTime<Utc>) -> String {
        let name = day_name(at);
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

    pub fn list_time(at: &DateTime<Utc>) -> String {
        let name = day_name(at);
        FORMATS.with(|formats| match name {
            DayName::Today => formatted(&formats.clock, at),
            DayName::Yesterday => "Yesterday".to_owned(),
            DayName::Weekday => formatted(&formats.short_weekday, at),
            DayName::DayMonth => formatted(&formats.short_day_month, at),
            DayName::DayMonthYear => formatted(&formats.short_day_month_year, at),
        })
    }

    /// Counts local midnights into `midnights` while the page lives: a
    /// timer for the next one, and a look at the date whenever the tab is
    /// shown again, as timers stand still while a laptop sleeps or a tab is
    /// frozen. Both stop when the page does.
    pub fn follow_midnights(midnights: RwSignal<u32>) {
        let today = Rc::new(Cell::new(calendar_day(&Date::new_0())));
        let timer = Arc::new(Mutex::new(None::<TimeoutHandle>));
        wait_for_midnight(midnights, Rc::clone(&today), Arc::clone(&timer));
        let shown = window_event_listener_untyped("visibilitychange", move |_| {
            if document().visibility_state() == VisibilityState::Visible {
                count_new_day(midnights, &today);
            }
        });
        on_cleanup(move || {
            shown.remove();
            if let Some(handle) = timer.lock().ok().and_then(|mut timer| timer.take()) {
                handle.clear();
            }
        });
    }

    /// Counts a midnight if the day has changed since `today`; false once the
    /// page is gone.
    fn count_new_day(midnights: RwSignal<u32>, today: &Cell<NaiveDate>) -> bool {
        let now = calendar_day(&Date::new_0());
        if now == today.get() {
            return true;
        }
        today.set(now);
        midnights.try_update(|count| *count += 1).is_some()
    }

    fn wait_for_midnight(
        midnights: RwSignal<u32>,
        today: Rc<Cell<NaiveDate>>,
        timer: Arc<Mutex<Option<TimeoutHandle>>>,
    ) {
        let now = Date::new_0();
        let next = Date::new_with_year_month_day(
            now.get_full_year(),
            now.get_month().cast_signed(),
            now.get_date().cast_signed() + 1,
        );
        // A second past midnight, so the new day has begun when it fires.
        let wait = (next.get_time() - now.get_time()).max(0.0) + 1_000.0;
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "at most a day of milliseconds, never negative"
        )]
        let wait = Duration::from_millis(wait as u64);
        let next_timer = Arc::clone(&timer);
        let handle = set_timeout_with_handle(
            move || {
                if count_new_day(midnights, &today) {
                    wait_for_midnight(midnights, today, next_timer);
                }
            },
            wait,
        )
        .ok();
        if let Ok(mut timer) = timer.lock() {
            *timer = handle;
        }
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
    fn the_server_writes_list_times_shorter_the_older_they_are() {
        let today = day("2026-11-29");
        let at = |text: &str| text.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(utc_list_time(&at("2026-11-29T08:04:00Z"), today), "08:04");
        assert_eq!(
            utc_list_time(&at("2026-11-28T23:59:00Z"), today),
            "Yesterday"
        );
        assert_eq!(utc_list_time(&at("2026-11-24T12:00:00Z"), today), "Tue");
        assert_eq!(utc_list_time(&at("2026-09-03T12:00:00Z"), today), "3 Sep");
        assert_eq!(
            utc_list_time(&at("2025-12-31T12:00:00Z"), today),
            "31 Dec 2025"
        );
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
