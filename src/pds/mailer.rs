//! Outgoing mail over SMTP (optional): STARTTLS or implicit TLS with the bundled web PKI roots,
//! credentials from the configuration, never logged.

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// SMTP settings (from `--smtp-url`, e.g. `smtps://user:pass@mail.example.com:465` or
/// `smtp://user:pass@mail.example.com:587` for STARTTLS, and `--smtp-from`).
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// Builds a mailer from an `smtp://` / `smtps://` URL and a From address.
    pub fn new(url: &str, from: &str) -> Result<Mailer, String> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("invalid --smtp-from: {e}"))?;
        let parsed = url::Url::parse(url).map_err(|e| format!("invalid SMTP URL: {e}"))?;
        let host = parsed
            .host_str()
            .ok_or("the SMTP URL has no host")?
            .to_owned();
        let builder = match parsed.scheme() {
            "smtps" => AsyncSmtpTransport::<Tokio1Executor>::relay(&host),
            "smtp" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host),
            "smtp+insecure" => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &host,
            )),
            other => {
                return Err(format!(
                    "unsupported SMTP scheme {other:?} (use smtp or smtps)"
                ));
            }
        }
        .map_err(|e| format!("SMTP: {e}"))?;
        let mut builder = builder;
        if let Some(port) = parsed.port() {
            builder = builder.port(port);
        }
        if !parsed.username().is_empty() {
            let user = percent_decode(parsed.username());
            let password = percent_decode(parsed.password().unwrap_or_default());
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
        })
    }

    pub async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        let to: Mailbox = to.parse().map_err(|e| format!("invalid recipient: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .body(body.to_owned())
            .map_err(|e| e.to_string())?;
        self.transport
            .send(message)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn decodes_url_credentials() {
        assert_eq!(super::percent_decode("p%40ss%2F1"), "p@ss/1");
        assert_eq!(super::percent_decode("100%"), "100%");
    }
}
