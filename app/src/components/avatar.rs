//! A round initial with a colour derived from the name, so people are told
//! apart at a glance.

use leptos::prelude::*;

#[component]
pub fn Avatar(#[prop(into)] name: String) -> impl IntoView {
    let hue = name.bytes().fold(7u32, |hash, byte| {
        hash.wrapping_mul(31).wrapping_add(u32::from(byte))
    }) % 360;
    let initial = name.chars().next().unwrap_or('?').to_string();
    view! {
        <span class="avatar" style=format!("--hue: {hue}") aria-hidden="true">
            {initial}
        </span>
    }
}
