//! A labelled input with its error, and the form-level alert.

use leptos::prelude::*;

use crate::{
    domain::{MIN_STRENGTH, Strength},
    error::AppError,
};

/// The action value of a form's server function.
type ActionValue<T> = Signal<Option<Result<T, AppError>>>;

/// The first message for `field` in the last failed submission, if any.
pub fn field_message<T: Send + Sync + 'static>(
    value: ActionValue<T>,
    field: &'static str,
) -> Signal<Option<String>> {
    Signal::derive(move || {
        value.with(|v| match v {
            Some(Err(e)) => e.fields().and_then(|f| f.first(field)).map(str::to_string),
            _ => None,
        })
    })
}

/// What was typed into `field` before a failed submission (for re-rendering without JS).
pub fn kept_value<T: Send + Sync + 'static>(
    value: ActionValue<T>,
    field: &'static str,
) -> Signal<Option<String>> {
    Signal::derive(move || {
        value.with(|v| match v {
            Some(Err(e)) => e.fields().and_then(|f| f.values.get(field).cloned()),
            _ => None,
        })
    })
}

/// A visible label, the input, and its error, tied together for screen readers.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] input_type: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(into, optional)] value: MaybeProp<String>,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(optional)] hint: Option<&'static str>,
    /// Tells its `id` apart from a same-named field of another form on the page.
    #[prop(optional)]
    scope: Option<&'static str>,
    /// Called with the value on every keystroke (the password strength meter).
    #[prop(optional, into)]
    on_input: Option<Callback<String>>,
    /// Shown under the input, above the error (the strength meter).
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    let id = match scope {
        Some(scope) => format!("field-{scope}-{name}"),
        None => format!("field-{name}"),
    };
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described_by = if hint.is_some() {
        format!("{hint_id} {error_id}")
    } else {
        error_id.clone()
    };
    let input = NodeRef::<leptos::html::Input>::new();
    if input_type == "password" {
        // As Django's forms do, a password is never kept: after each answer to the form (the
        // error signal follows it), the field is emptied; the rest of the form keeps its values.
        Effect::new(move |answered: Option<()>| {
            error.track();
            if answered.is_some()
                && let Some(field) = input.get_untracked()
            {
                field.set_value("");
                if let Some(on_input) = on_input {
                    on_input.run(String::new());
                }
            }
        });
    }
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input
                node_ref=input
                id=id
                name=name
                type=input_type
                autocomplete=autocomplete
                value=move || value.get()
                aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
                aria-describedby=described_by
                on:input=move |ev| {
                    if let Some(on_input) = on_input {
                        on_input.run(event_target_value(&ev));
                    }
                }
            />
            {hint.map(|h| view! { <p class="hint" id=hint_id>{h}</p> })}
            {children.map(|c| c())}
            <p class="error" id=error_id aria-live="polite">
                {move || error.get()}
            </p>
        </div>
    }
}

/// For password managers, in a password form without a username field: the account the
/// password belongs to, hidden and never submitted (it has no `name`), so Chromium's "password
/// forms should have username fields" does not apply and a saved password is stored for the
/// right account. `form` makes its `id` unique on the page.
#[component]
pub fn HiddenUsername(form: &'static str, #[prop(into)] value: String) -> impl IntoView {
    view! {
        <input id=format!("{form}-username") type="text" autocomplete="username" value=value hidden readonly/>
    }
}

/// A live rating of the password being typed: zxcvbn's score as a meter and in words, with
/// advice below the bar the server enforces. Runs in the browser and sends nothing; zxcvbn and
/// its dictionaries are a separate WASM chunk, loaded the first time someone types a password.
#[component]
pub fn StrengthMeter(password: ReadSignal<String>) -> impl IntoView {
    // An effect, not a resource: effects run only in the browser, so the server render (and
    // the page without JavaScript) never waits for a rating.
    let (rated, set_rated) = signal(None::<Strength>);
    Effect::new(move |_| {
        let typed = password.get();
        if typed.is_empty() {
            set_rated.set(None);
            return;
        }
        leptos::task::spawn_local(async move {
            let strength = rate_password(typed.clone()).await;
            // A rating of what is no longer typed is dropped.
            if password.with_untracked(|p| *p == typed) {
                set_rated.set(Some(strength));
            }
        });
    });
    view! {
        <div class="strength" aria-live="polite">
            {move || rated.get().map(|s| {
                let advice = (s.score < MIN_STRENGTH).then(|| s.advice.clone());
                view! {
                    <meter min="0" max="4" low="2" high="3" optimum="4" value=s.score.to_string()
                        aria-label="Password strength"></meter>
                    <span class="strength-label">{format!("Strength: {}", s.label())}</span>
                    {advice.map(|a| view! { <p class="hint">{a}</p> })}
                }
            })}
        </div>
    }
}

/// zxcvbn's rating, lazily loaded (`cargo leptos --split` puts it in its own WASM chunk).
#[lazy]
fn rate_password(password: String) -> Strength {
    Strength::of(&password, &[])
}

/// The form's overall outcome: an error announced at once, or a success note.
#[component]
pub fn FormAlert<T: Send + Sync + 'static>(
    value: ActionValue<T>,
    #[prop(optional)] success: Option<&'static str>,
) -> impl IntoView {
    let message = move || {
        value.with(|v| match v {
            Some(Err(e)) => Some(("alert error", e.to_string())),
            Some(Ok(_)) => success.map(|s| ("alert success", s.to_string())),
            None => None,
        })
    };
    view! {
        <div role="alert" aria-live="assertive">
            {move || message().map(|(class, text)| view! { <p class=class>{text}</p> })}
        </div>
    }
}
