//! A password input with a show/hide toggle.

use leptos::prelude::*;

#[component]
pub fn PasswordField(
    label: &'static str,
    autocomplete: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional, into)] errors: Signal<Vec<String>>,
) -> impl IntoView {
    let visible = RwSignal::new(false);
    view! {
        <div class="field">
            <label for="password">{label}</label>
            <div class="password-row">
                <input
                    id="password"
                    name="password"
                    type=move || if visible.get() { "text" } else { "password" }
                    autocomplete=autocomplete
                    required
                />
                <button
                    type="button"
                    class="btn btn-ghost"
                    aria-pressed=move || visible.get().to_string()
                    aria-controls="password"
                    on:click=move |_| visible.update(|shown| *shown = !*shown)
                >
                    {move || if visible.get() { "Hide" } else { "Show" }}
                </button>
            </div>
            {hint.map(|hint| view! { <span class="field-hint">{hint}</span> })}
            {move || {
                errors.get().into_iter().map(|error| view! { <p class="form-error">{error}</p> }).collect_view()
            }}
        </div>
    }
}
