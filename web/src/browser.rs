//! Small wrappers over browser APIs (storage, URL hash, wall clock, downloads, files, clipboard).
//!
//! Everything here fails soft: a browser without localStorage (or a native test build) simply
//! remembers nothing. The wall clock (`performance.now()`) paces frames; it never decides what
//! happens in the simulation.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

/// Milliseconds since the page started loading (`performance.now()`), or 0 outside a browser.
pub fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

pub fn storage_get(key: &str) -> Option<String> {
    web_sys::window()?.local_storage().ok()??.get_item(key).ok()?
}

pub fn storage_set(key: &str, value: &str) {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.set_item(key, value);
    }
}

/// The URL fragment without its `#`, percent-decoded (chat programs sometimes escape `~`).
pub fn hash() -> String {
    let raw = web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default();
    let raw = raw.strip_prefix('#').unwrap_or(&raw);
    js_sys::decode_uri_component(raw).ok().and_then(|s| s.as_string()).unwrap_or_else(|| raw.to_string())
}

/// Replace the URL fragment without reloading and without a `hashchange` event.
pub fn replace_hash(fragment: &str) {
    if let Some(window) = web_sys::window() {
        if let Ok(history) = window.history() {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&format!("#{fragment}")));
        }
    }
}

/// The page's address without its fragment.
pub fn base_url() -> String {
    web_sys::window()
        .and_then(|w| w.location().href().ok())
        .map(|href| href.split('#').next().unwrap_or_default().to_string())
        .unwrap_or_default()
}

pub fn set_document_lang(code: &str) {
    if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
        let _ = root.set_attribute("lang", code);
    }
}

/// Offer `text` as a file download named `file_name`.
pub fn download(file_name: &str, mime: &str, text: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else { return };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else { return };
    if let Ok(anchor) = document.create_element("a").map(|a| a.unchecked_into::<web_sys::HtmlAnchorElement>()) {
        anchor.set_href(&url);
        anchor.set_download(file_name);
        anchor.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// Read the first file chosen in `input` as text, then call `done` with it.
pub fn read_file(input: &web_sys::HtmlInputElement, done: impl FnOnce(String, String) + 'static) {
    let Some(file) = input.files().and_then(|files| files.get(0)) else { return };
    let Ok(reader) = web_sys::FileReader::new() else { return };
    let name = file.name();
    let reader_for_load = reader.clone();
    let onload = Closure::once(move || {
        let text = reader_for_load.result().ok().and_then(|r| r.as_string()).unwrap_or_default();
        done(name, text);
    });
    reader.set_onload(Some(onload.as_ref().unchecked_ref()));
    onload.forget(); // one closure per import, freed with the page
    let _ = reader.read_as_text(&file);
}

/// Put `text` on the clipboard, if the browser lets us.
pub fn copy_to_clipboard(text: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().clipboard().write_text(text);
    }
}

/// Scrolls the element with `id` into view when none of it is on screen: on a narrow screen the
/// inspector sits under the cluster, and a click on a node would otherwise seem to do nothing.
/// Its CSS `scroll-margin-top` keeps it clear of the sticky header.
pub fn reveal(id: &str) {
    let Some(window) = web_sys::window() else { return };
    let Some(element) = window.document().and_then(|d| d.get_element_by_id(id)) else { return };
    let rect = element.get_bounding_client_rect();
    let viewport = window.inner_height().ok().and_then(|h| h.as_f64()).unwrap_or(0.0);
    if rect.top() >= viewport || rect.bottom() <= 0.0 {
        element.scroll_into_view_with_bool(true);
    }
}

/// A listener on the window for one event type, removed when dropped (return it from a
/// `use_effect` as its teardown: `move || drop(listener)`).
pub struct WindowListener<T: ?Sized> {
    event: &'static str,
    closure: Closure<T>,
}

impl<T: ?Sized + wasm_bindgen::closure::WasmClosure> WindowListener<T> {
    pub fn new(event: &'static str, closure: Closure<T>) -> WindowListener<T> {
        if let Some(window) = web_sys::window() {
            let _ = window.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
        }
        WindowListener { event, closure }
    }
}

impl<T: ?Sized> Drop for WindowListener<T> {
    fn drop(&mut self) {
        if let Some(window) = web_sys::window() {
            let _ = window.remove_event_listener_with_callback(self.event, self.closure.as_ref().unchecked_ref());
        }
    }
}
