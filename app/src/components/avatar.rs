//! A round initial with a colour derived from the name, so people are told
//! apart at a glance.

use leptos::prelude::*;

#[component]
pub fn Avatar(#[prop(into)] name: String) -> impl IntoView {
    // One of 24 hues, each a class in the stylesheet: an inline `style`
    // would need the Content-Security-Policy to allow inline styles.
    let hue = name.bytes().fold(7u32, |hash, byte| {
        hash.wrapping_mul(31).wrapping_add(u32::from(byte))
    }) % 24;
    let initial = name.chars().next().unwrap_or('?').to_string();
    view! {
        <span class="avatar" data-hue=hue.to_string() aria-hidden="true">
            {initial}
        </span>
    }
}

/// A dot for someone's presence: online, away or offline. `announced` gives
/// it a label for screen readers; inside a link named after the person it
/// stays silent (and shows its status on hover), so the link's name is
/// just theirs.
#[component]
pub fn PresenceDot(
    #[prop(into)] who: Signal<String>,
    #[prop(optional)] announced: bool,
) -> impl IntoView {
    let chat = super::ChatContext::use_context();
    let status = move || chat.presence_of(&who.get()).as_str();
    view! {
        <span
            class="presence-dot"
            data-status=status
            title=status
            role=announced.then_some("img")
            aria-label=move || announced.then(status)
            aria-hidden=(!announced).then_some("true")
        ></span>
    }
}
