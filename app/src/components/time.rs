//! Message times and day labels, in the reader's time zone once the page has
//! hydrated (the server renders UTC, as it cannot know the reader's zone).

use chrono::{DateTime, Datelike, FixedOffset, Offset, Utc};
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

fn is_hydrated() -> bool {
    use_context::<Hydrated>().is_some_and(|hydrated| hydrated.0.get())
}

/// The reader's UTC offset at `at`.
fn offset_at(at: &DateTime<Utc>, in_browser: bool) -> FixedOffset {
    #[cfg(feature = "hydrate")]
    if in_browser {
        #[expect(
            clippy::cast_precision_loss,
            reason = "milliseconds since 1970 fit in f64"
        )]
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
            at.timestamp_millis() as f64
        ));
        #[expect(clippy::cast_possible_truncation, reason = "offsets are whole minutes")]
        let minutes = -(date.get_timezone_offset() as i32);
        if let Some(offset) = FixedOffset::east_opt(minutes * 60) {
            return offset;
        }
    }
    let _ = (at, in_browser);
    Utc.fix()
}

/// "14:05".
pub fn clock_time(at: &DateTime<Utc>) -> String {
    let local = at.with_timezone(&offset_at(at, is_hydrated()));
    local.format("%H:%M").to_string()
}

/// The local calendar day of `at`, used to place day separators.
pub fn day_key(at: &DateTime<Utc>) -> String {
    let local = at.with_timezone(&offset_at(at, is_hydrated()));
    local.format("%Y-%m-%d").to_string()
}

/// "Today", "Yesterday", "Monday 24 November" or "24 November 2025".
pub fn day_label(at: &DateTime<Utc>) -> String {
    let in_browser = is_hydrated();
    let local = at.with_timezone(&offset_at(at, in_browser)).date_naive();
    let now = Utc::now();
    let today = now.with_timezone(&offset_at(&now, in_browser)).date_naive();
    match (today - local).num_days() {
        0 => "Today".to_owned(),
        1 => "Yesterday".to_owned(),
        2..=6 => local.format("%A %-d %B").to_string(),
        _ if local.year() == today.year() => local.format("%-d %B").to_string(),
        _ => local.format("%-d %B %Y").to_string(),
    }
}
