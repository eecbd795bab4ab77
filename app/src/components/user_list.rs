//! The searchable, paginated list of people to talk to.

use leptos::prelude::*;
use leptos_router::components::A;

use super::{Avatar, PresenceDot};
use crate::server_fns::users::list_users;
use crate::wire::UserSummary;

#[component]
pub fn UserList() -> impl IntoView {
    let search = RwSignal::new(String::new());
    let first_page = Resource::new(move || search.get(), |search| list_users(search, 1));
    // Pages after the first, appended by "Load more"; reset by a new search.
    let more = RwSignal::new(Vec::<UserSummary>::new());
    let next_page = RwSignal::new(2u64);
    let has_more = RwSignal::new(None::<bool>);
    let loading_more = RwSignal::new(false);

    // Someone may have signed up while the tab was in the background: a
    // tab shown again reloads the list, unless more pages are open below.
    #[cfg(feature = "hydrate")]
    {
        let shown = window_event_listener_untyped("visibilitychange", move |_| {
            if document().visibility_state() == web_sys::VisibilityState::Visible
                && more.with_untracked(Vec::is_empty)
            {
                first_page.refetch();
            }
        });
        on_cleanup(move || shown.remove());
    }

    let load_more = move |_| {
        if loading_more.get_untracked() {
            return;
        }
        loading_more.set(true);
        let page = next_page.get_untracked();
        let searched = search.get_untracked();
        leptos::task::spawn_local(async move {
            let result = list_users(searched.clone(), page).await;
            // The search changed while this page loaded: it belongs to another list.
            if search.get_untracked() == searched
                && let Ok(loaded) = result
            {
                has_more.set(Some(loaded.has_more()));
                more.update(|users| users.extend(loaded.results));
                next_page.set(page + 1);
            }
            loading_more.set(false);
        });
    };

    view! {
        <div class="search">
            <label class="visually-hidden" for="user-search">"Search people"</label>
            <input
                id="user-search"
                type="search"
                placeholder="Search people"
                autocomplete="off"
                prop:value=move || search.get_untracked()
                // One request when typing pauses, not one per keystroke.
                on:input=debounce(std::time::Duration::from_millis(200), move |event: leptos::ev::Event| {
                    more.set(Vec::new());
                    next_page.set(2);
                    has_more.set(None);
                    search.set(event_target_value(&event));
                })
            />
        </div>
        <nav class="user-list" aria-label="People">
            <Transition fallback=|| view! { <p class="list-note">"Loading people…"</p> }>
                {move || Suspend::new(async move {
                    match first_page.await {
                        Ok(page) => {
                            let empty = page.results.is_empty();
                            let first_has_more = page.has_more();
                            let first_items = page.results;
                            view! {
                                <ul>
                                    {first_items.into_iter().map(|user| view! { <UserItem user /> }).collect_view()}
                                    <For each=move || more.get() key=|user| user.username.clone() let(user)>
                                        <UserItem user />
                                    </For>
                                </ul>
                                {empty.then(|| view! { <EmptyDirectory search /> })}
                                <Show when=move || has_more.get().unwrap_or(first_has_more)>
                                    <button
                                        class="btn btn-ghost load-more"
                                        on:click=load_more
                                        disabled=move || loading_more.get()
                                    >
                                        {move || if loading_more.get() { "Loading…" } else { "Load more" }}
                                    </button>
                                </Show>
                            }
                                .into_any()
                        }
                        Err(error) => view! { <p class="list-note">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </nav>
    }
}

#[component]
fn UserItem(user: UserSummary) -> impl IntoView {
    let href = format!("/chat/{}", user.username);
    // Shown, so its presence is worth knowing.
    if let Some(chat) = use_context::<super::ChatContext>() {
        let name = user.username.clone();
        let added = chat.directory.try_update_untracked(|directory| {
            let new = !directory.contains(&name);
            if new {
                directory.push(name);
            }
            new
        });
        if added == Some(true) {
            chat.directory.notify();
        }
    }
    view! {
        <li>
            <A href=href attr:class="user-item">
                <span class="avatar-with-presence">
                    <Avatar name=user.username.clone() />
                    <PresenceDot who=user.username.clone() />
                </span>
                <span class="user-name">{user.username}</span>
            </A>
        </li>
    }
}

#[component]
fn EmptyDirectory(search: RwSignal<String>) -> impl IntoView {
    move || {
        let search = search.get();
        if search.trim().is_empty() {
            view! { <p class="list-note">"No one else is here yet. Invite a friend to sign up!"</p> }
                .into_any()
        } else {
            view! { <p class="list-note">"Nobody matches “" {search} "”."</p> }.into_any()
        }
    }
}
