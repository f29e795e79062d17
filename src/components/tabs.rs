//! Coordination between the tabs of one browser, which share the session cookies: a refresh
//! runs under a Web Lock so only one tab refreshes at a time, and a tab that refreshed tells
//! the others over a BroadcastChannel so they reschedule instead of refreshing too. Where
//! either API is missing, each tab refreshes on its own (the server's grace window keeps that
//! safe).

#[cfg(feature = "hydrate")]
pub use browser::{announce_refresh, exclusively, heard_refresh_since, listen, now_ms};

/// On the server nothing runs in a tab: effects never fire, so these are never called.
#[cfg(not(feature = "hydrate"))]
pub use server::{announce_refresh, exclusively, heard_refresh_since, listen, now_ms};

#[cfg(not(feature = "hydrate"))]
mod server {
    use std::future::Future;

    pub fn listen(_on_refreshed: impl Fn() + 'static) {}

    pub fn announce_refresh() {}

    pub fn now_ms() -> f64 {
        0.0
    }

    pub fn heard_refresh_since(_since_ms: f64) -> bool {
        false
    }

    pub fn exclusively(work: impl Future<Output = ()> + 'static) {
        leptos::task::spawn_local(work);
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::{
        cell::{Cell, RefCell},
        future::Future,
        rc::Rc,
    };

    use leptos::web_sys::js_sys::{Function, Promise, Reflect};
    use wasm_bindgen::{JsCast, JsValue, closure::Closure, prelude::wasm_bindgen};

    const CHANNEL: &str = "latchkey-session";
    const LOCK: &str = "latchkey-refresh";

    #[wasm_bindgen]
    extern "C" {
        type BroadcastChannel;
        #[wasm_bindgen(constructor, catch)]
        fn new(name: &str) -> Result<BroadcastChannel, JsValue>;
        #[wasm_bindgen(method, js_name = postMessage, catch)]
        fn post_message(this: &BroadcastChannel, message: &JsValue) -> Result<(), JsValue>;
        #[wasm_bindgen(method, setter)]
        fn set_onmessage(this: &BroadcastChannel, handler: &Function);
    }

    thread_local! {
        /// This tab's end of the channel (a channel never hears its own messages).
        static TABS: RefCell<Option<BroadcastChannel>> = const { RefCell::new(None) };
        /// When another tab last announced a refresh (milliseconds since the epoch).
        static LAST_HEARD: Cell<f64> = const { Cell::new(0.0) };
        /// A refresh of this tab's is running (when there is no lock to wait on).
        static IN_FLIGHT: Cell<bool> = const { Cell::new(false) };
    }

    /// Calls `on_refreshed` whenever another tab announces a refresh.
    pub fn listen(on_refreshed: impl Fn() + 'static) {
        let Ok(channel) = BroadcastChannel::new(CHANNEL) else {
            return;
        };
        let handler = Closure::<dyn Fn(JsValue)>::new(move |_| {
            LAST_HEARD.set(now_ms());
            on_refreshed();
        });
        channel.set_onmessage(handler.as_ref().unchecked_ref());
        // Lives as long as the page, as the channel does.
        handler.forget();
        TABS.with(|tabs| *tabs.borrow_mut() = Some(channel));
    }

    /// The browser's clock, in milliseconds since the epoch.
    pub fn now_ms() -> f64 {
        leptos::web_sys::js_sys::Date::now()
    }

    /// Whether another tab announced a refresh at or after `since_ms`.
    pub fn heard_refresh_since(since_ms: f64) -> bool {
        LAST_HEARD.get() >= since_ms
    }

    /// Tells the other tabs the session was just refreshed.
    pub fn announce_refresh() {
        TABS.with(|tabs| {
            if let Some(channel) = tabs.borrow().as_ref() {
                let _ = channel.post_message(&JsValue::from_str("refreshed"));
            }
        });
    }

    /// Runs `work` while holding the browser-wide refresh lock (Web Locks API), or at once where
    /// the API is missing.
    pub fn exclusively(work: impl Future<Output = ()> + 'static) {
        let work = Rc::new(RefCell::new(Some(work)));
        let pending = Rc::clone(&work);
        let requested = lock_manager().and_then(|(locks, request)| {
            let callback = Closure::once_into_js(move |_lock: JsValue| {
                Promise::new(&mut |resolve, _reject| {
                    if let Some(work) = pending.borrow_mut().take() {
                        leptos::task::spawn_local(async move {
                            work.await;
                            let _ = resolve.call0(&JsValue::NULL);
                        });
                    }
                })
            });
            request
                .call2(&locks, &JsValue::from_str(LOCK), &callback)
                .ok()
        });
        // No Web Locks: still one refresh at a time within this tab.
        if requested.is_none()
            && !IN_FLIGHT.get()
            && let Some(work) = work.borrow_mut().take()
        {
            IN_FLIGHT.set(true);
            leptos::task::spawn_local(async move {
                work.await;
                IN_FLIGHT.set(false);
            });
        }
    }

    /// `navigator.locks` and its `request` method, when the browser has them (secure contexts).
    fn lock_manager() -> Option<(JsValue, Function)> {
        let window: JsValue = leptos::prelude::window().into();
        let navigator = Reflect::get(&window, &JsValue::from_str("navigator")).ok()?;
        let locks = Reflect::get(&navigator, &JsValue::from_str("locks")).ok()?;
        if locks.is_undefined() || locks.is_null() {
            return None;
        }
        let request = Reflect::get(&locks, &JsValue::from_str("request"))
            .ok()?
            .dyn_into::<Function>()
            .ok()?;
        Some((locks, request))
    }
}
