//! The card that frames the log-in and sign-up forms.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AuthCard(title: &'static str, subtitle: &'static str, children: Children) -> impl IntoView {
    view! {
        <Title text=format!("{title} · ChatApp") />
        <main class="auth-page">
            <div class="auth-card">
                <h1 class="brand"><span class="brand-mark">"●"</span>" ChatApp"</h1>
                <p class="auth-subtitle">{subtitle}</p>
                {children()}
            </div>
        </main>
    }
}
