//! The OAuth sign-in and consent page, served by the node itself: plain HTML and inline CSS,
//! no script, no external origin, so it works with JavaScript off and offline on a LAN, and fits
//! a phone screen. It names the app (name, logo, its URL, where it sends you back) and says each
//! requested permission in words.
//!
//! Protection: no framing (`X-Frame-Options: DENY`, CSP `frame-ancestors 'none'`), a CSRF token
//! in both a strict same-site cookie and the form (compared on submit), and a submit coming from
//! another origin is refused.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand_core::{OsRng, RngCore};

use crate::core::crypto::constant_time_eq;
use crate::pds::AuthorizationView;

const CSRF_COOKIE: &str = "skyhold-oauth-csrf";

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1b1d21}\
main{max-width:28rem;margin:0 auto;padding:1.25rem}\
.card{background:#fff;border-radius:12px;padding:1.25rem;box-shadow:0 1px 3px #0002}\
h1{font-size:1.3rem;margin:.2rem 0 .8rem}\
.app{display:flex;gap:.75rem;align-items:center;margin-bottom:.5rem}\
.app img{width:48px;height:48px;border-radius:10px}\
.muted{color:#5a6270;font-size:.9rem;word-break:break-all}\
ul{padding-left:1.2rem}li{margin:.35rem 0}\
label{display:block;margin:.7rem 0 .25rem;font-weight:600}\
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.7rem;font-size:1rem;border:1px solid #c4c9d1;border-radius:8px}\
.buttons{display:flex;gap:.75rem;margin-top:1.1rem}\
button{flex:1;padding:.8rem;font-size:1rem;border-radius:8px;border:1px solid #c4c9d1;background:#fff;cursor:pointer}\
button.primary{background:#1a66d9;border-color:#1a66d9;color:#fff}\
.error{background:#fde8e8;color:#8a1c1c;padding:.6rem .8rem;border-radius:8px}\
.warn{background:#fff6db;padding:.6rem .8rem;border-radius:8px;font-size:.9rem}";

fn page(status: StatusCode, title: &str, body: &str, cookie: Option<String>) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        escape(title)
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if let Some(cookie) = cookie
        && let Ok(value) = HeaderValue::from_str(&cookie)
    {
        headers.insert(header::SET_COOKIE, value);
    }
    response
}

/// The sign-in and consent page for a pending request, with `error` shown above the form.
pub fn consent(view: &AuthorizationView, error: Option<&str>, issuer: &str) -> Response {
    let mut bytes = [0u8; 24];
    OsRng.fill_bytes(&mut bytes);
    let csrf = data_encoding::BASE64URL_NOPAD.encode(&bytes);
    let secure = if issuer.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie =
        format!("{CSRF_COOKIE}={csrf}; Path=/oauth/authorize; HttpOnly; SameSite=Strict{secure}");
    let name = view.client_name.clone().unwrap_or_else(|| {
        if view.loopback {
            "An app on this computer".into()
        } else {
            view.client_id.clone()
        }
    });
    let logo = view
        .logo_uri
        .as_deref()
        .map(|l| format!("<img src=\"{}\" alt=\"\">", escape(l)))
        .unwrap_or_default();
    let site = match (&view.client_uri, view.loopback) {
        (Some(uri), _) => format!("<div class=\"muted\">{}</div>", escape(uri)),
        (None, true) => {
            "<div class=\"muted\">A development app running on this computer</div>".into()
        }
        (None, false) => format!("<div class=\"muted\">{}</div>", escape(&view.client_id)),
    };
    let mut permissions = String::new();
    for p in &view.permissions {
        permissions.push_str(&format!("<li>{}</li>", escape(p)));
    }
    if view.permissions.is_empty() {
        permissions.push_str("<li>Know who you are (your DID and handle). Nothing else.</li>");
    }
    let links: Vec<String> = [
        ("Terms", &view.tos_uri),
        ("Privacy policy", &view.policy_uri),
    ]
    .iter()
    .filter_map(|(label, uri)| {
        uri.as_ref().map(|u| {
            format!(
                "<a href=\"{}\" rel=\"noopener noreferrer\">{label}</a>",
                escape(u)
            )
        })
    })
    .collect();
    let links = if links.is_empty() {
        String::new()
    } else {
        format!("<p class=\"muted\">{}</p>", links.join(" · "))
    };
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let hint = escape(view.login_hint.as_deref().unwrap_or_default());
    let body = format!(
        "<div class=\"card\"><div class=\"app\">{logo}<div><h1>{name} wants to use your account</h1>{site}</div></div>\
         <p>If you allow it, it may:</p><ul>{permissions}</ul>\
         <p class=\"muted\">After you decide you go back to <strong>{redirect}</strong>.</p>{links}\
         {error}<form method=\"post\" action=\"/oauth/authorize\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"client_id\" value=\"{client_id}\">\
         <input type=\"hidden\" name=\"request_uri\" value=\"{request_uri}\">\
         <label for=\"identifier\">Handle or email</label>\
         <input type=\"text\" id=\"identifier\" name=\"identifier\" value=\"{hint}\" autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\">\
         <label for=\"password\">Password</label>\
         <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\">\
         <p class=\"warn\">Use your account password, not an app password. You can revoke this app later from your account.</p>\
         <div class=\"buttons\"><button type=\"submit\" name=\"decision\" value=\"deny\" formnovalidate>Deny</button>\
         <button type=\"submit\" name=\"decision\" value=\"allow\" class=\"primary\">Sign in and allow</button></div>\
         </form></div>",
        name = escape(&name),
        redirect = escape(&view.redirect_host),
        client_id = escape(&view.client_id),
        request_uri = escape(&view.request_uri),
    );
    page(
        StatusCode::OK,
        &format!("Sign in to {name}"),
        &body,
        Some(cookie),
    )
}

/// A page that ends the flow here (the request is unknown, expired, or forged).
pub fn error(message: &str) -> Response {
    let body = format!(
        "<div class=\"card\"><h1>Sign-in could not continue</h1><p class=\"error\">{}</p>\
         <p>Go back to the app and start signing in again.</p></div>",
        escape(message)
    );
    page(
        StatusCode::BAD_REQUEST,
        "Sign-in could not continue",
        &body,
        None,
    )
}

/// Too many sign-in attempts (the login rate limit): 429, try later.
pub fn too_many(message: &str) -> Response {
    let body = format!(
        "<div class=\"card\"><h1>Too many sign-in attempts</h1><p class=\"error\">{}</p>\
         <p>Wait a few minutes, then start again from the app.</p></div>",
        escape(message)
    );
    page(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many sign-in attempts",
        &body,
        None,
    )
}

/// A 303 to the app's redirect URI (with the code or the refusal).
pub fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => error("the app's redirect address is not valid"),
    }
}

/// Checks that a submit comes from this server's own page: same origin, and the form's CSRF
/// token equals the cookie's.
pub fn check_csrf(headers: &HeaderMap, form_token: &str, issuer: &str) -> Result<(), &'static str> {
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
        && origin != issuer
    {
        return Err("This form was sent from another site.");
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return Err("This form was sent from another site.");
    }
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == CSRF_COOKIE)
        .map(|(_, value)| value.to_owned());
    match cookie {
        Some(cookie)
            if !form_token.is_empty()
                && constant_time_eq(cookie.as_bytes(), form_token.as_bytes()) =>
        {
            Ok(())
        }
        _ => Err(
            "The sign-in form expired or was not sent from this page. Start again from the app.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_needs_the_cookie_and_the_same_origin() {
        let issuer = "https://pds.example.com";
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; skyhold-oauth-csrf=tok"),
        );
        assert!(check_csrf(&headers, "tok", issuer).is_ok());
        assert!(check_csrf(&headers, "other", issuer).is_err());
        assert!(check_csrf(&headers, "", issuer).is_err());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(check_csrf(&headers, "tok", issuer).is_err());
        assert!(check_csrf(&HeaderMap::new(), "tok", issuer).is_err());
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
