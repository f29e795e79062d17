//! Delivering mail: over SMTP (lettre) to `SMTP_URL`, or, with none set, as `.eml` files in
//! the data directory's `outbox/` folder so a person trying latchkey locally can open the
//! links. What is sent and when is the outbox's business (`services::outbox`); this module
//! only turns a queued mail into a message and hands it over.

pub mod templates;

use std::{path::PathBuf, time::Duration};

use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::SinglePart,
    message::{Mailbox, MultiPart, header::ContentType},
    transport::smtp::PoolConfig,
};
use url::Url;

use super::config::{MailSettings, redacted};

/// Longest an SMTP conversation may take; well inside the outbox's lease on a mail, so a
/// stalled server never lets another instance send the same mail again.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// A mail ready to go out.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The outbox row's id: the message's `Message-ID` is derived from it, so a mail sent
    /// again after a crash is recognisably the same mail.
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("SMTP_URL {url}: {reason}")]
    Url { url: String, reason: String },
    #[error("cannot create the mail folder {path}: {source}")]
    Folder {
        path: String,
        source: std::io::Error,
    },
}

/// Why a mail did not go out, and whether trying again can help.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// The server refused the mail for good (a bad recipient, say): retrying cannot help.
    pub permanent: bool,
    pub message: String,
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

/// Where mail goes. Cheap to clone (the SMTP transport pools its connections).
#[derive(Clone)]
pub struct Mailer {
    transport: std::sync::Arc<Transport>,
    from: Mailbox,
    /// For logs: the SMTP server (no password) or the folder.
    destination: String,
    /// Mails on their way at once: the SMTP pool's size.
    connections: usize,
}

impl Mailer {
    /// # Errors
    /// [`MailError`] for an SMTP URL lettre cannot use or a folder that cannot be made.
    pub fn new(settings: &MailSettings, data_dir: &std::path::Path) -> Result<Self, MailError> {
        let (transport, destination) = match settings.smtp_url() {
            Some(raw) => {
                let url = secure_by_default(raw);
                let shown = redacted(raw);
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
                    .map_err(|e| MailError::Url {
                        url: shown.clone(),
                        reason: e.to_string(),
                    })?
                    .timeout(Some(SMTP_TIMEOUT))
                    .pool_config(
                        PoolConfig::new()
                            .max_size(u32::try_from(settings.connections).unwrap_or(u32::MAX)),
                    )
                    .build();
                (Transport::Smtp(transport), format!("SMTP server {shown}"))
            }
            None => {
                let folder: PathBuf = data_dir.join("outbox");
                std::fs::create_dir_all(&folder).map_err(|source| MailError::Folder {
                    path: folder.display().to_string(),
                    source,
                })?;
                let shown = format!("files in {}", folder.display());
                (Transport::Files(AsyncFileTransport::new(folder)), shown)
            }
        };
        Ok(Self {
            transport: std::sync::Arc::new(transport),
            from: settings.from.clone(),
            destination,
            connections: settings.connections,
        })
    }

    /// Where mail goes, for the log line at start.
    pub fn destination(&self) -> &str {
        &self.destination
    }

    /// How many mails may be on their way at once (`SMTP_CONNECTIONS`).
    pub fn connections(&self) -> usize {
        self.connections
    }

    /// Sends one mail.
    ///
    /// # Errors
    /// [`SendError`], permanent when the server refused the mail itself.
    pub async fn send(&self, mail: &Outgoing) -> Result<(), SendError> {
        let message = self.message(mail)?;
        match self.transport.as_ref() {
            Transport::Smtp(smtp) => smtp.send(message).await.map(drop).map_err(|e| SendError {
                permanent: e.is_permanent(),
                message: e.to_string(),
            }),
            Transport::Files(files) => files.send(message).await.map(drop).map_err(|e| SendError {
                permanent: false,
                message: e.to_string(),
            }),
        }
    }

    fn message(&self, mail: &Outgoing) -> Result<Message, SendError> {
        let refused = |message: String| SendError {
            permanent: true,
            message,
        };
        let to: Mailbox = mail
            .recipient
            .parse()
            .map_err(|e| refused(format!("recipient address: {e}")))?;
        let domain = self.from.email.domain().to_string();
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(format!("<outbox.{}@{domain}>", mail.id)))
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(mail.text.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(mail.html.clone()),
                    ),
            )
            .map_err(|e| refused(format!("message: {e}")))
    }
}

/// `smtp://` to anything but loopback insists on STARTTLS unless the URL says otherwise
/// (lettre's plain `smtp://` would send passwords and links in clear text).
fn secure_by_default(raw: &str) -> String {
    let Ok(mut url) = Url::parse(raw) else {
        return raw.to_string();
    };
    // `smtp:` is no special scheme to the URL parser: an address comes back as a name.
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => {
            d == "localhost"
                || d.trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if url.scheme() == "smtp" && !loopback && !url.query_pairs().any(|(k, _)| k == "tls") {
        url.query_pairs_mut().append_pair("tls", "required");
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::secure_by_default;

    #[test]
    fn plain_smtp_is_only_for_loopback() {
        assert_eq!(
            secure_by_default("smtp://user:pw@mail.example.com:587"),
            "smtp://user:pw@mail.example.com:587?tls=required"
        );
        assert_eq!(
            secure_by_default("smtp://mail.example.com?tls=opportunistic"),
            "smtp://mail.example.com?tls=opportunistic"
        );
        assert_eq!(
            secure_by_default("smtp://127.0.0.1:2525"),
            "smtp://127.0.0.1:2525"
        );
        assert_eq!(secure_by_default("smtp://[::1]:2525"), "smtp://[::1]:2525");
        assert_eq!(
            secure_by_default("smtp://10.0.0.5:25"),
            "smtp://10.0.0.5:25?tls=required"
        );
        assert_eq!(
            secure_by_default("smtps://mail.example.com"),
            "smtps://mail.example.com"
        );
    }
}
