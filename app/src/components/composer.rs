//! The message composer: Enter sends, Shift+Enter starts a new line.

use leptos::html::Textarea;
use leptos::prelude::*;

use super::ChatContext;

#[component]
pub fn Composer(#[prop(into)] recipient: Signal<String>) -> impl IntoView {
    let chat = ChatContext::use_context();
    let max_chars = chat.viewer.with_value(|viewer| viewer.max_message_chars);
    let textarea = NodeRef::<Textarea>::new();

    // Opening a conversation puts the cursor where the reply goes.
    Effect::new(move |_| {
        if let Some(input) = textarea.get() {
            // Once attached: a suspended view is built before it is mounted.
            request_animation_frame(move || {
                let _ = input.focus();
            });
        }
    });

    // Each conversation shows its own draft: text typed to one person stays
    // with them when another conversation opens, and is never sent to the
    // other.
    let keep_draft = move |text: String| {
        let to = recipient.get_untracked().to_ascii_lowercase();
        chat.drafts.update_value(|drafts| {
            if text.is_empty() {
                drafts.remove(&to);
            } else {
                drafts.insert(to, text);
            }
        });
    };
    Effect::new(move |_| {
        let to = recipient.get().to_ascii_lowercase();
        if let Some(input) = textarea.get() {
            // The first time in the page's life, what was typed before the
            // page came alive is this conversation's draft.
            if !chat.drafts_begun.get_value() {
                chat.drafts_begun.set_value(true);
                let typed = input.value();
                if !typed.is_empty() {
                    keep_draft(typed);
                    return;
                }
            }
            let draft = chat.drafts.with_value(|drafts| drafts.get(&to).cloned());
            input.set_value(&draft.unwrap_or_default());
        }
    });

    // The message shows at once as pending; the outbox sends and retries it.
    let send = move || {
        let Some(input) = textarea.get_untracked() else {
            return;
        };
        let body = input.value();
        if body.trim().is_empty() {
            return;
        }
        chat.send(recipient.get_untracked(), body);
        input.set_value("");
        keep_draft(String::new());
        let _ = input.focus();
    };

    view! {
        <form
            class="composer"
            on:submit=move |event| {
                event.prevent_default();
                send();
            }
        >
            <label class="visually-hidden" for="composer-input">"Message"</label>
            <textarea
                id="composer-input"
                on:input=move |event| {
                    keep_draft(event_target_value(&event));
                    #[cfg(feature = "hydrate")]
                    chat.announce_typing(recipient.get_untracked(), js_sys::Date::now());
                }
                node_ref=textarea
                rows="1"
                maxlength=max_chars
                placeholder=move || format!("Message {}", recipient.get())
                on:keydown=move |event| {
                    if event.key() == "Enter" && !event.shift_key() && !event.is_composing() {
                        event.prevent_default();
                        send();
                    }
                }
            ></textarea>
            <button class="btn btn-primary" type="submit">
                "Send"
            </button>
        </form>
        {move || chat.send_error.get().map(|error| view! { <p class="composer-error" role="alert">{error}</p> })}
    }
}
