//! What the one island (`super::Enhance`) does in the browser: posts a page's forms with
//! `fetch` and puts the page the server answers in place of this one, so an answer keeps
//! the reader's place and, when the server refuses it, what they typed.
//!
//! Without it (before hydration, without JavaScript) every form still works as plain
//! HTML: the server answers a post with a redirect back to the page (`server::flash`).
//! With it, the same request is made with `fetch` (same body, `Accept: text/html`, the
//! redirect followed), and the final page's `<body>` replaces the current one. When that
//! page is this one again (an error, or an action that stays here), the form that was
//! sent gets back what was typed in it, as it would have kept it without a reload. An HTML
//! answer that is not a redirect (a refusal from a plain handler) is shown as it is.
//! Forms that upload files, and anything that does not answer with HTML, fall back to the
//! plain post. A form already on its way ignores another submission (its buttons are
//! disabled until the answer is in, and again usable when the page comes back from the
//! browser's history cache).

use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Document, Element, FormData, Headers, HtmlFormElement, HtmlInputElement, HtmlSelectElement,
    HtmlTextAreaElement, RequestInit, Response, SubmitEvent, UrlSearchParams,
};

pub fn install() {
    let submit = window_event_listener(leptos::ev::submit, on_submit);
    // A page restored from the history cache comes back as it was left: busy.
    let shown = window_event_listener_untyped("pageshow", |_| {
        if let Ok(forms) = document().query_selector_all("form[aria-busy]") {
            for i in 0..forms.length() {
                if let Some(f) = forms
                    .item(i)
                    .and_then(|n| n.dyn_into::<HtmlFormElement>().ok())
                {
                    busy(&f, false);
                }
            }
        }
    });
    // For the page's lifetime (the body is swapped, the window stays).
    std::mem::forget(submit);
    std::mem::forget(shown);
}

fn on_submit(ev: SubmitEvent) {
    if ev.default_prevented() {
        return;
    }
    let Some(form) = ev
        .target()
        .and_then(|t| t.dyn_into::<HtmlFormElement>().ok())
    else {
        return;
    };
    // Attributes, not the form's properties: a field named `action` or `method` (the
    // webhooks page has one) shadows those.
    let attribute = |name: &str| form.get_attribute(name).unwrap_or_default();
    if !attribute("method").eq_ignore_ascii_case("post") {
        return;
    }
    if form.get_attribute("aria-busy").is_some() {
        ev.prevent_default();
        return;
    }
    if attribute("enctype").eq_ignore_ascii_case("multipart/form-data") {
        // A file upload: the browser posts it; its buttons wait with it, disabled once
        // the browser has taken the pressed one's name and value into the post.
        let _ = form.set_attribute("aria-busy", "true");
        set_timeout(move || busy(&form, true), std::time::Duration::ZERO);
        return;
    }
    let Ok(data) = FormData::new_with_form(&form) else {
        return;
    };
    if let Some(button) = ev.submitter() {
        if let Some(name) = button.get_attribute("name") {
            let value = button.get_attribute("value").unwrap_or_default();
            let _ = data.append_with_str(&name, &value);
        }
    }
    let Ok(body) = UrlSearchParams::new_with_str_sequence_sequence(&data) else {
        return;
    };
    ev.prevent_default();
    busy(&form, true);
    let here = window().location().href().unwrap_or_default();
    let Ok(action) = web_sys::Url::new_with_base(&attribute("action"), &here) else {
        busy(&form, false);
        return;
    };
    let sent = Sent {
        action: attribute("action"),
        identity: identity(&form),
        typed: typed_values(&form),
        opened: form
            .closest("details")
            .ok()
            .flatten()
            .is_some_and(|d| d.has_attribute("open")),
    };
    leptos::task::spawn_local(async move {
        if send(&action.href(), &body, sent).await.is_err() {
            // Something unexpected: the plain post (a repeat is answered once by its key).
            busy(&form, false);
            let _ = form.submit();
        }
    });
}

/// Disables (or enables) a form's buttons, marking it busy.
fn busy(form: &HtmlFormElement, on: bool) {
    if on {
        let _ = form.set_attribute("aria-busy", "true");
    } else {
        let _ = form.remove_attribute("aria-busy");
    }
    let Ok(buttons) = form.query_selector_all("button") else {
        return;
    };
    for i in 0..buttons.length() {
        if let Some(b) = buttons.item(i).and_then(|n| n.dyn_into::<Element>().ok()) {
            let _ = if on {
                b.set_attribute("disabled", "")
            } else {
                b.remove_attribute("disabled")
            };
        }
    }
}

/// A field as the user left it: (name, value, checked).
type Typed = Vec<(String, String, bool)>;

/// The form that was sent, to find it again in the page that answers.
struct Sent {
    /// Its `action` attribute.
    action: String,
    identity: Vec<(String, String)>,
    typed: Typed,
    /// Inside a `<details>` the user had opened.
    opened: bool,
}

fn typed_values(form: &HtmlFormElement) -> Typed {
    let elements = form.elements();
    let mut out = Vec::new();
    for i in 0..elements.length() {
        let Some(e) = elements.item(i) else { continue };
        if let Some(input) = e.dyn_ref::<HtmlInputElement>() {
            out.push((input.name(), input.value(), input.checked()));
        } else if let Some(t) = e.dyn_ref::<HtmlTextAreaElement>() {
            out.push((t.name(), t.value(), false));
        } else if let Some(s) = e.dyn_ref::<HtmlSelectElement>() {
            out.push((s.name(), s.value(), false));
        } else {
            out.push((String::new(), String::new(), false));
        }
    }
    out
}

/// What tells one form from another of the same kind: each field's name, in order, and
/// the hidden fields' values (which line, which order), the per-render ones left out.
fn identity(form: &HtmlFormElement) -> Vec<(String, String)> {
    let elements = form.elements();
    (0..elements.length())
        .filter_map(|i| elements.item(i))
        .map(|e| match e.dyn_ref::<HtmlInputElement>() {
            Some(input)
                if input.type_() == "hidden"
                    && !matches!(input.name().as_str(), "csrf_token" | "idempotency_key") =>
            {
                (input.name(), input.value())
            }
            _ => (e.get_attribute("name").unwrap_or_default(), String::new()),
        })
        .collect()
}

/// Puts back what was typed, field by field, in the page's same form ([`same_form`]), as
/// a form the browser never reloaded would have kept it. Hidden fields keep the new
/// page's values (a fresh key).
fn restore(form: &HtmlFormElement, sent: &Sent) {
    if sent.opened {
        if let Ok(Some(d)) = form.closest("details") {
            let _ = d.set_attribute("open", "");
        }
    }
    let elements = form.elements();
    for (i, (_, value, checked)) in sent.typed.iter().enumerate() {
        let Some(e) = elements.item(i as u32) else {
            return;
        };
        if let Some(input) = e.dyn_ref::<HtmlInputElement>() {
            match input.type_().as_str() {
                "hidden" | "file" | "submit" => {}
                "checkbox" | "radio" => input.set_checked(*checked),
                _ => input.set_value(value),
            }
        } else if let Some(t) = e.dyn_ref::<HtmlTextAreaElement>() {
            t.set_value(value);
        } else if let Some(s) = e.dyn_ref::<HtmlSelectElement>() {
            s.set_value(value);
        }
    }
}

/// The form of the page that is the one that was sent: the same action and identity.
fn same_form(sent: &Sent) -> Option<HtmlFormElement> {
    let forms = document().forms();
    (0..forms.length())
        .filter_map(|i| forms.item(i))
        .filter_map(|f| f.dyn_into::<HtmlFormElement>().ok())
        .find(|f| {
            f.get_attribute("action").unwrap_or_default() == sent.action
                && identity(f) == sent.identity
        })
}

async fn send(action: &str, body: &UrlSearchParams, sent: Sent) -> Result<(), JsValue> {
    let headers = Headers::new()?;
    headers.set("Accept", "text/html")?;
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(body);
    init.set_headers(&headers);
    let response: Response = JsFuture::from(window().fetch_with_str_and_init(action, &init))
        .await?
        .dyn_into()?;
    let html_answer = response
        .headers()
        .get("content-type")?
        .is_some_and(|t| t.starts_with("text/html"));
    if !html_answer {
        return Err(JsValue::NULL);
    }
    let html = JsFuture::from(response.text()?)
        .await?
        .as_string()
        .unwrap_or_default();
    if !response.redirected() {
        // A page answered in place (a plain handler's refusal): shown, as the browser
        // would, without a URL of its own to come back to.
        show(&html)?;
        window().scroll_to_with_x_and_y(0.0, 0.0);
        return Ok(());
    }
    let url = web_sys::Url::new(&response.url())?;
    let refused = url.search_params().get("__err").is_some();
    url.search_params().delete("__err");
    url.search_params().delete("__path");
    show(&html)?;
    let history = window().history()?;
    let here = window().location().href()?;
    let there = url.href();
    let same_page = there == here.split('#').next().unwrap_or(&here);
    if same_page || refused {
        history.replace_state_with_url(&JsValue::NULL, "", Some(&there))?;
        if let Some(form) = same_form(&sent) {
            restore(&form, &sent);
        }
    } else {
        history.push_state_with_url(&JsValue::NULL, "", Some(&there))?;
        window().scroll_to_with_x_and_y(0.0, 0.0);
    }
    Ok(())
}

/// Puts the answered page's body and title in place of this page's.
fn show(html: &str) -> Result<(), JsValue> {
    let parsed: Document =
        web_sys::DomParser::new()?.parse_from_string(html, web_sys::SupportedType::TextHtml)?;
    let Some(new_body) = parsed.body() else {
        return Err(JsValue::NULL);
    };
    let doc = document();
    let Some(old_body) = doc.body() else {
        return Err(JsValue::NULL);
    };
    let new_body = doc.adopt_node(&new_body)?;
    doc.document_element()
        .ok_or(JsValue::NULL)?
        .replace_child(&new_body, &old_body)?;
    doc.set_title(&parsed.title());
    // The island's marker came as the server renders it; this page is still enhanced.
    if let Ok(Some(marker)) = doc.query_selector("[data-hydrated]") {
        let _ = marker.set_attribute("data-hydrated", "true");
    }
    Ok(())
}
