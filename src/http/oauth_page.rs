//! The OAuth sign-in and consent page, served by the node itself: plain HTML and inline CSS,
//! no script, no external origin (the app's logo is served by the node, `/oauth/client-logo`), so it works with JavaScript off and offline on a LAN, and fits
//! a phone screen. It names the node and the app (name, logo, its URL, where it sends you back)
//! and says each requested permission in words. A browser that signed in here before gets an
//! account chooser first (links, from a cookie of DIDs that holds no secret) unless the app named
//! the account.
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
/// The accounts this browser signed in with (DIDs, newest first): the account chooser's list.
/// It only saves typing a handle (every sign-in still takes the password), so it holds no
/// secret; `Lax` so it comes along when an app sends the browser here.
const ACCOUNTS_COOKIE: &str = "skyhold-accounts";
/// Most accounts the chooser remembers.
const MAX_REMEMBERED: usize = 5;
/// A year, in seconds.
const ACCOUNTS_COOKIE_AGE: u32 = 365 * 24 * 60 * 60;

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

/// The DIDs of the accounts this browser signed in with, newest first.
pub fn remembered_accounts(headers: &HeaderMap) -> Vec<String> {
    cookie_value(headers, ACCOUNTS_COOKIE)
        .unwrap_or_default()
        .split('|')
        .filter(|d| crate::core::syntax::Did::parse(d).is_ok())
        .take(MAX_REMEMBERED)
        .map(str::to_owned)
        .collect()
}

/// The cookie that puts `did` first in the browser's list of accounts.
pub fn remember_account(headers: &HeaderMap, did: &str, issuer: &str) -> String {
    let mut dids = vec![did.to_owned()];
    dids.extend(
        remembered_accounts(headers)
            .into_iter()
            .filter(|d| d != did),
    );
    dids.truncate(MAX_REMEMBERED);
    format!(
        "{ACCOUNTS_COOKIE}={}; Path=/oauth/authorize; Max-Age={ACCOUNTS_COOKIE_AGE}; HttpOnly; SameSite=Lax{}",
        dids.join("|"),
        secure_attribute(issuer)
    )
}

fn secure_attribute(issuer: &str) -> &'static str {
    if issuer.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

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
.muted{color:#5a6270;font-size:.9rem;overflow-wrap:anywhere}\
ul{padding-left:1.2rem}li{margin:.35rem 0}\
label{display:block;margin:.7rem 0 .25rem;font-weight:600}\
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.7rem;font-size:1rem;border:1px solid #c4c9d1;border-radius:8px}\
.buttons{display:flex;gap:.75rem;margin-top:1.1rem}\
button{flex:1;padding:.8rem;font-size:1rem;border-radius:8px;border:1px solid #c4c9d1;background:#fff;cursor:pointer}\
button.primary{background:#1a66d9;border-color:#1a66d9;color:#fff}\
.error{background:#fde8e8;color:#8a1c1c;padding:.6rem .8rem;border-radius:8px}\
.warn{background:#fff6db;padding:.6rem .8rem;border-radius:8px;font-size:.9rem}\
h2{font-size:1.05rem;margin:1.1rem 0 .5rem}\
.accounts{list-style:none;padding:0;margin:0;display:grid;gap:.5rem}.accounts li{margin:0}\
.account{display:flex;align-items:center;gap:.7rem;padding:.75rem;border:1px solid #c4c9d1;border-radius:10px;color:inherit;text-decoration:none;font-weight:600;overflow-wrap:anywhere}\
.account:hover,.account:focus{border-color:#1a66d9}.account.other{font-weight:400;color:#1a66d9}\
.initial{display:grid;place-items:center;flex:none;width:2rem;height:2rem;border-radius:50%;background:#1a66d9;color:#fff}\
.node{margin:0 0 .9rem;font-size:.9rem;color:#5a6270}\
.hint{font-size:.85rem;color:#5a6270;margin:.35rem 0 0}\
@media (prefers-color-scheme:dark){body{background:#15171b;color:#e6e8eb}.card{background:#1f2227;box-shadow:none}\
.muted,.node,.hint{color:#a3aab5}input[type=text],input[type=password]{background:#15171b;color:#e6e8eb;border-color:#4a505a}\
button{background:#2a2e35;color:#e6e8eb;border-color:#4a505a}.warn{background:#3a3320;color:#f3e6bf}\
.error{background:#4a1f1f;color:#ffd9d9}}";

fn page(status: StatusCode, title: &str, body: &str, cookie: Option<String>) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
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
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Not `no-referrer`: with it a browser sends `Origin: null` on the form's own post, which
    // the CSRF check (rightly) refuses. `same-origin` still keeps the request URI from the app.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if let Some(cookie) = cookie
        && let Ok(value) = HeaderValue::from_str(&cookie)
    {
        headers.insert(header::SET_COOKIE, value);
    }
    response
}

/// The authorize page for a pending request: the account chooser when `choices` (handles this
/// browser signed in with) is not empty, else the sign-in form, with `error` above it.
pub fn consent(
    view: &AuthorizationView,
    error: Option<&str>,
    issuer: &str,
    choices: &[String],
) -> Response {
    let mut bytes = [0u8; 24];
    OsRng.fill_bytes(&mut bytes);
    let csrf = data_encoding::BASE64URL_NOPAD.encode(&bytes);
    let cookie = format!(
        "{CSRF_COOKIE}={csrf}; Path=/oauth/authorize; HttpOnly; SameSite=Strict{}",
        secure_attribute(issuer)
    );
    let name = view.client_name.clone().unwrap_or_else(|| {
        if view.loopback {
            "An app on this computer".into()
        } else {
            view.client_id.clone()
        }
    });
    // Served by the node itself (`/oauth/client-logo`), so the page loads no other origin.
    let logo = if view.logo_uri.is_some() {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &view.client_id)
            .finish();
        format!(
            "<img src=\"/oauth/client-logo?{}\" alt=\"\" width=\"48\" height=\"48\">",
            escape(&query)
        )
    } else {
        String::new()
    };
    let site = match (&view.client_uri, view.loopback) {
        (Some(uri), _) => format!("<div class=\"muted\">{}</div>", escape(uri)),
        // The heading already says where it runs.
        (None, true) => String::new(),
        (None, false) => format!("<div class=\"muted\">{}</div>", escape(&view.client_id)),
    };
    // A loopback client has no document anyone vouches for: its name is whatever it says.
    let unverified = if view.loopback {
        "<p class=\"warn\">This app runs on your own computer, so its name cannot be checked. \
         Allow it only if you just started it yourself.</p>"
    } else {
        ""
    };
    let node = url::Url::parse(issuer)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| u.port().map_or(h.to_owned(), |p| format!("{h}:{p}")))
        })
        .unwrap_or_else(|| issuer.to_owned());
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
    let fields = if choices.is_empty() {
        format!(
            "<label for=\"identifier\">Handle or email</label>\
             <input type=\"text\" id=\"identifier\" name=\"identifier\" value=\"{hint}\" autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required>\
             <label for=\"password\">Password</label>\
             <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
             <p class=\"hint\">Your account password, not an app password. You can disconnect the app at any time in Settings, Connected apps.</p>\
             <div class=\"buttons\"><button type=\"submit\" name=\"decision\" value=\"deny\" formnovalidate>Deny</button>\
             <button type=\"submit\" name=\"decision\" value=\"allow\" class=\"primary\">Sign in and allow</button></div>"
        )
    } else {
        chooser(view, choices)
    };
    let body = format!(
        "<div class=\"card\"><p class=\"node\">Your account on <strong>{node}</strong></p>\
         <div class=\"app\">{logo}<div><h1>{name} wants to use your account</h1>{site}</div></div>\
         {unverified}<p>If you allow it, it may:</p><ul>{permissions}</ul>\
         <p class=\"muted\">After you decide, you go back to <strong>{redirect}</strong>.</p>{links}\
         {error}<form method=\"post\" action=\"/oauth/authorize\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"client_id\" value=\"{client_id}\">\
         <input type=\"hidden\" name=\"request_uri\" value=\"{request_uri}\">\
         {fields}\
         </form></div>",
        name = escape(&name),
        node = escape(&node),
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

/// The account chooser: one link per account this browser signed in with (each opens the
/// sign-in form with its handle filled in), another account, or deny. Links, so it works with
/// JavaScript off.
fn chooser(view: &AuthorizationView, choices: &[String]) -> String {
    let link = |account: &str| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &view.client_id)
            .append_pair("request_uri", &view.request_uri)
            .append_pair("account", account)
            .finish();
        escape(&format!("/oauth/authorize?{query}"))
    };
    let mut items = String::new();
    for handle in choices {
        items.push_str(&format!(
            "<li><a class=\"account\" href=\"{}\"><span class=\"initial\" aria-hidden=\"true\">{}</span>@{}</a></li>",
            link(handle),
            escape(&handle.chars().next().unwrap_or('?').to_uppercase().to_string()),
            escape(handle)
        ));
    }
    format!(
        "<h2>Choose an account</h2><ul class=\"accounts\">{items}\
         <li><a class=\"account other\" href=\"{}\">Use another account</a></li></ul>\
         <div class=\"buttons\"><button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></div>",
        link("")
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

/// A 303 to the app's redirect URI (with the code or the refusal), setting `cookie` if given.
pub fn redirect(location: &str, cookie: Option<String>) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            if let Some(cookie) = cookie
                && let Ok(cookie) = HeaderValue::from_str(&cookie)
            {
                response.headers_mut().insert(header::SET_COOKIE, cookie);
            }
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
    match cookie_value(headers, CSRF_COOKIE) {
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
    fn the_chooser_cookie_keeps_five_accounts_newest_first_and_drops_garbage() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static(
                "skyhold-accounts=did:plc:aaaa|<script>|did:plc:bbbb|did:plc:cccc|did:plc:dddd|did:plc:eeee",
            ),
        );
        assert_eq!(
            remembered_accounts(&headers),
            [
                "did:plc:aaaa",
                "did:plc:bbbb",
                "did:plc:cccc",
                "did:plc:dddd",
                "did:plc:eeee"
            ]
        );
        let cookie = remember_account(&headers, "did:plc:cccc", "https://pds.example.com");
        assert!(
            cookie.starts_with(
                "skyhold-accounts=did:plc:cccc|did:plc:aaaa|did:plc:bbbb|did:plc:dddd|did:plc:eeee;"
            ),
            "{cookie}"
        );
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
        assert!(cookie.ends_with("; Secure"));
        let fresh = remember_account(&HeaderMap::new(), "did:plc:ffff", "http://localhost:2583");
        assert!(fresh.starts_with("skyhold-accounts=did:plc:ffff;") && !fresh.contains("Secure"));
    }

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
