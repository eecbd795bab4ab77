//! The settings page: e-mail, read receipts, password, other sessions.
//! Plain forms, so it works before the WASM loads, and without it.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::components::{A, Redirect};

use crate::components::{AuthCard, PasswordField};
use crate::error::AppError;
use crate::server_fns::auth::{
    CancelEmailChange, ChangePassword, DeleteAccount, EndOtherSessions, SaveAccountSettings,
    load_account_settings,
};
use crate::wire::AccountSettings;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let current = Resource::new(|| (), |()| load_account_settings());
    view! {
        <AuthCard title="Settings" subtitle="Your account, your privacy, your sessions.">
            <Suspense fallback=|| view! { <p class="list-note">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match current.await {
                        Ok(settings) => view! { <SettingsForms settings /> }.into_any(),
                        Err(AppError::Unauthorized) => view! { <Redirect path="/login" /> }.into_any(),
                        Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <p class="auth-switch"><A href="/">"Back to your conversations"</A></p>
        </AuthCard>
    }
}

#[component]
fn SettingsForms(settings: AccountSettings) -> impl IntoView {
    let save = ServerAction::<SaveAccountSettings>::new();
    let change = ServerAction::<ChangePassword>::new();
    let end_others = ServerAction::<EndOtherSessions>::new();
    let delete = ServerAction::<DeleteAccount>::new();
    let field_error = move |result: Option<Result<(), AppError>>, field: &str| match result {
        Some(Err(AppError::Validation(fields) | AppError::Conflict(fields))) => fields
            .get(field)
            .and_then(|problems| problems.first().cloned()),
        _ => None,
    };
    let saved = move || save.value().get().map(|result| result.map(|_| ()));
    // The address waiting for its confirmation link, as the last answer
    // (the page's, or the last save's) has it.
    let first_pending = settings.pending_email.clone();
    let pending = move || match save.value().get() {
        Some(Ok(latest)) => latest.pending_email,
        _ => first_pending.clone(),
    };
    // After a save the form shows the account as it is: the address that
    // counts, no password. Left as typed, the next save (of receipts, say)
    // would ask for the new address again, voiding the link just sent.
    let email_input = NodeRef::<leptos::html::Input>::new();
    let email_password_input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move || {
        if let Some(Ok(latest)) = save.value().get() {
            if let Some(input) = email_input.get_untracked() {
                input.set_value(latest.email.as_deref().unwrap_or_default());
            }
            if let Some(input) = email_password_input.get_untracked() {
                input.set_value("");
            }
        }
    });
    let changed = move || change.value().get();
    let new_password_errors =
        Signal::derive(move || field_error(changed(), "new_password").into_iter().collect());
    view! {
        <section class="settings-section" aria-labelledby="account-heading">
            <h2 id="account-heading">"Account"</h2>
            <ActionForm action=save attr:class="auth-form">
                <div class="field">
                    <label for="username">"Username"</label>
                    <input id="username" value=settings.username readonly />
                </div>
                <div class="field">
                    <label for="email">"E-mail " <span class="field-hint">"(for password resets)"</span></label>
                    <input id="email" name="email" type="email" autocomplete="email" value=settings.email.unwrap_or_default() node_ref=email_input />
                </div>
                <div class="field">
                    <label for="email_password">"Current password " <span class="field-hint">"(to change the e-mail)"</span></label>
                    <input id="email_password" name="current_password" type="password" autocomplete="current-password" node_ref=email_password_input />
                </div>
                <label class="checkbox">
                    <input type="checkbox" name="send_read_receipts" value="on" checked=settings.send_read_receipts />
                    " Let people see when I have read their messages"
                </label>
                {move || match saved() {
                    Some(Ok(())) => view! { <p class="form-note" role="status">"Saved."</p> }.into_any(),
                    Some(Err(error)) => view! {
                        <p class="form-error" role="alert">
                            {field_error(Some(Err(error.clone())), "email")
                                .or_else(|| field_error(Some(Err(error.clone())), "current_password"))
                                .unwrap_or_else(|| error.to_string())}
                        </p>
                    }.into_any(),
                    None => ().into_any(),
                }}
                <button class="btn btn-primary" type="submit">"Save"</button>
            </ActionForm>
            // Its own form, outside the one above (forms do not nest). A
            // plain post, with or without the WASM: the server sends the
            // browser back here, and a rare action does not cost every
            // visitor the code of one more `ActionForm`.
            {move || pending().map(|address| view! {
                <form method="post" action=CancelEmailChange::PATH class="pending-change">
                    <p class="form-note" role="status" id="email-pending">
                        "We sent a link to " <strong>{address}</strong>
                        ". Your address changes when you open it (within a day); until then, reset links go to the one you have. "
                        <button class="btn-link" type="submit">"Cancel the change"</button>
                    </p>
                </form>
            })}
        </section>
        <section class="settings-section" aria-labelledby="password-heading">
            <h2 id="password-heading">"Password"</h2>
            <ActionForm action=change attr:class="auth-form">
                <div class="field">
                    <label for="current_password">"Current password"</label>
                    <input id="current_password" name="current_password" type="password" autocomplete="current-password" required />
                </div>
                <PasswordField label="New password" autocomplete="new-password" hint="At least 8 characters." errors=new_password_errors />
                {move || match changed() {
                    Some(Ok(())) => view! {
                        <p class="form-note" role="status">"Password changed. Your other sessions have ended."</p>
                    }.into_any(),
                    Some(Err(error)) => match field_error(Some(Err(error.clone())), "current_password") {
                        Some(problem) => view! { <p class="form-error" role="alert">{problem}</p> }.into_any(),
                        None if field_error(Some(Err(error.clone())), "new_password").is_some() => ().into_any(),
                        None => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                    },
                    None => ().into_any(),
                }}
                <button class="btn btn-primary" type="submit">"Change password"</button>
            </ActionForm>
        </section>
        <section class="settings-section" aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">"Sessions"</h2>
            <ActionForm action=end_others attr:class="auth-form">
                {move || end_others.value().get().map(|result| match result {
                    Ok(()) => view! { <p class="form-note" role="status">"Your other sessions have ended."</p> }.into_any(),
                    Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                })}
                <button class="btn btn-ghost" type="submit">"Log out my other sessions"</button>
            </ActionForm>
        </section>
        <section class="settings-section" aria-labelledby="data-heading">
            <h2 id="data-heading">"Your data"</h2>
            <p class="form-note">"Everything you sent and received, your conversations and your account, as one JSON file."</p>
            <a class="btn btn-ghost" href="/api/v1/auth/export" download>"Download my data"</a>
        </section>
        <section class="settings-section settings-danger" aria-labelledby="delete-heading">
            <h2 id="delete-heading">"Delete account"</h2>
            <p class="form-note">
                "Your messages become “deleted” for the people you wrote to, your e-mail address and sessions are removed, "
                "and your username stays reserved so nobody can take it over. This cannot be undone."
            </p>
            <ActionForm action=delete attr:class="auth-form">
                <div class="field">
                    <label for="delete_password">"Current password"</label>
                    <input id="delete_password" name="current_password" type="password" autocomplete="current-password" required />
                </div>
                {move || delete.value().get().and_then(Result::err).map(|error| view! {
                    <p class="form-error" role="alert">
                        {field_error(Some(Err(error.clone())), "current_password").unwrap_or_else(|| error.to_string())}
                    </p>
                })}
                <button class="btn btn-danger" type="submit" disabled=move || delete.pending().get()>"Delete my account"</button>
            </ActionForm>
        </section>
    }
}
