//! hilo's HTML pages: server-rendered, self-contained (no asset from anywhere), answered with
//! headers that keep them out of frames and caches. The OAuth consent page is the first.

pub mod consent;
pub mod session;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use maud::{html, Markup, DOCTYPE};

use crate::state::AppState;

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    consent::routes(router)
}

/// One page of hilo's, with its status.
pub struct Page {
    pub status: StatusCode,
    pub title: String,
    pub body: Markup,
}

impl Page {
    pub fn new(status: StatusCode, title: impl Into<String>, body: Markup) -> Page {
        Page {
            status,
            title: title.into(),
            body,
        }
    }

    /// A page that only says what went wrong.
    pub fn error(status: StatusCode, title: &str, message: &str) -> Page {
        Page::new(
            status,
            title,
            html! {
                h1 { (title) }
                p.error { (message) }
            },
        )
    }
}

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;background:#f3f4f6;color:#111827;\
margin:0;padding:2rem 1rem}\
main{max-width:28rem;margin:0 auto;background:#fff;border-radius:.5rem;padding:1.5rem 2rem;\
box-shadow:0 1px 3px rgba(0,0,0,.12)}\
h1{font-size:1.25rem;margin:.25rem 0 1rem}\
.brand{font-size:.8rem;letter-spacing:.08em;text-transform:uppercase;color:#6b7280}\
label{display:block;margin:.75rem 0 .25rem;font-weight:600}\
input[type=email],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;\
border:1px solid #d1d5db;border-radius:.375rem;font-size:1rem}\
fieldset{border:1px solid #e5e7eb;border-radius:.375rem;margin:1rem 0;padding:.5rem 1rem}\
fieldset label{font-weight:400;margin:.4rem 0}\
ul.scopes{padding-left:1.25rem}ul.scopes li{margin:.2rem 0;font-family:ui-monospace,monospace;\
font-size:.9rem}\
.actions{display:flex;gap:.75rem;margin-top:1.25rem}\
button{padding:.55rem 1.1rem;border-radius:.375rem;border:1px solid #d1d5db;background:#fff;\
font-size:1rem;cursor:pointer}\
button.primary{background:#155eef;border-color:#155eef;color:#fff}\
button.link{border:none;background:none;color:#155eef;padding:0;font-size:.9rem}\
.error{color:#b42318;background:#fef3f2;border-radius:.375rem;padding:.5rem .75rem}\
.muted{color:#6b7280;font-size:.9rem}";

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let document = html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (self.title) " · hilo" }
                    style { (STYLE) }
                }
                body {
                    main {
                        div.brand { "hilo" }
                        (self.body)
                    }
                }
            }
        };
        let mut response = (self.status, document.into_string()).into_response();
        let headers = response.headers_mut();
        for (name, value) in [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            // Inline styles only; no scripts, images or frames. `form-action` is left out: the
            // approval's redirect to the app must not be blocked.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; \
                 base-uri 'none'",
            ),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        response
    }
}
