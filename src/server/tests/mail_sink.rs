//! A real SMTP server on loopback (mailin-embedded) that keeps what it receives, for tests to
//! read the mail latchkey sent: parsed with mail-parser, as a mail client would.

use std::{
    net::TcpListener,
    sync::{Arc, Mutex},
    time::Duration,
};

use mailin_embedded::{Handler, Response, Server, SslConfig, response};
use tokio::sync::watch;

/// Longest a test waits for a mail before it fails (a bound, not a synchronisation: the
/// wait ends the moment the mail arrives).
const PATIENCE: Duration = Duration::from_secs(20);

/// One received message.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    pub subject: String,
    pub message_id: String,
    pub text: String,
    pub html: String,
}

impl Mail {
    /// The first link in the text part that starts with `prefix` (an origin and a path).
    pub fn link(&self, prefix: &str) -> Option<url::Url> {
        self.text
            .split_whitespace()
            .find(|word| word.starts_with(prefix))
            .and_then(|word| url::Url::parse(word).ok())
    }

    /// A query parameter of the link starting with `prefix`.
    pub fn link_param(&self, prefix: &str, name: &str) -> String {
        let link = self
            .link(prefix)
            .unwrap_or_else(|| panic!("no {prefix} link in: {}", self.text));
        link.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("no {name} in {link}"))
    }
}

#[derive(Clone)]
struct Keeper {
    store: Arc<Mutex<Vec<Mail>>>,
    arrived: Arc<watch::Sender<usize>>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Keeper {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let Some(message) = mail_parser::MessageParser::default().parse(&self.data) else {
            return response::INTERNAL_ERROR;
        };
        let mail = Mail {
            to: std::mem::take(&mut self.to),
            subject: message.subject().unwrap_or_default().to_string(),
            message_id: message.message_id().unwrap_or_default().to_string(),
            text: message
                .body_text(0)
                .map(|t| t.into_owned())
                .unwrap_or_default(),
            html: message
                .body_html(0)
                .map(|t| t.into_owned())
                .unwrap_or_default(),
        };
        let count = {
            let Ok(mut store) = self.store.lock() else {
                return response::INTERNAL_ERROR;
            };
            store.push(mail);
            store.len()
        };
        self.arrived.send_replace(count);
        response::OK
    }
}

/// The SMTP server and what it received.
pub struct MailSink {
    /// `smtp://127.0.0.1:<port>`, for SMTP_URL.
    pub url: String,
    pub addr: std::net::SocketAddr,
    store: Arc<Mutex<Vec<Mail>>>,
    arrived: watch::Receiver<usize>,
}

impl MailSink {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the SMTP sink");
        Self::serve(listener)
    }

    /// A sink on `addr` (which a relay may point at).
    pub fn serve(listener: TcpListener) -> Self {
        let addr = listener.local_addr().expect("sink address");
        let store = Arc::new(Mutex::new(Vec::new()));
        let (sender, arrived) = watch::channel(0);
        let keeper = Keeper {
            store: store.clone(),
            arrived: Arc::new(sender),
            to: Vec::new(),
            data: Vec::new(),
        };
        let mut server = Server::new(keeper);
        server
            .with_name("sink.test")
            // A thread per connection, and lettre keeps its connections open between mails:
            // two instances' full pools (SMTP_CONNECTIONS, 8 each) and then some.
            .with_num_threads(32)
            .with_ssl(SslConfig::None)
            .expect("no TLS")
            .with_tcp_listener(listener);
        // The thread ends with the test process (mailin-embedded serves until then).
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Self {
            url: format!("smtp://{addr}"),
            addr,
            store,
            arrived,
        }
    }

    /// Every mail received so far.
    pub fn all(&self) -> Vec<Mail> {
        self.store.lock().expect("sink store").clone()
    }

    /// Waits until `count` mails have arrived in all: as long as mail keeps arriving (a busy
    /// machine sends a batch slowly), failing once none came for `PATIENCE`.
    pub async fn wait_for_count(&self, count: usize) -> Vec<Mail> {
        let mut arrived = self.arrived.clone();
        while *arrived.borrow_and_update() < count {
            tokio::time::timeout(PATIENCE, arrived.changed())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "{count} mails did not arrive (none for {PATIENCE:?}); got {:?}",
                        self.all()
                    )
                })
                .expect("sink open");
        }
        self.all()
    }

    /// Waits for the `nth` (from 1) mail to `to` and returns it.
    pub async fn nth_to(&self, to: &str, nth: usize) -> Mail {
        let mut arrived = self.arrived.clone();
        let found =
            tokio::time::timeout(PATIENCE, arrived.wait_for(|_| self.to(to).len() >= nth)).await;
        assert!(
            found.is_ok(),
            "mail {nth} to {to} did not arrive; got {:?}",
            self.all()
        );
        self.to(to).swap_remove(nth - 1)
    }

    /// Waits for a mail to `to` whose subject contains `subject`, and returns it.
    pub async fn about(&self, to: &str, subject: &str) -> Mail {
        self.nth_about(to, subject, 1).await
    }

    /// Waits for the `nth` (from 1) mail to `to` whose subject contains `subject`, and returns
    /// it.
    pub async fn nth_about(&self, to: &str, subject: &str, nth: usize) -> Mail {
        let mut arrived = self.arrived.clone();
        let find = || {
            self.to(to)
                .into_iter()
                .filter(|m| m.subject.contains(subject))
                .nth(nth - 1)
        };
        let found = tokio::time::timeout(PATIENCE, arrived.wait_for(|_| find().is_some())).await;
        assert!(
            found.is_ok(),
            "no mail {nth} to {to} about {subject:?}; got {:?}",
            self.all()
        );
        find().expect("found")
    }

    /// The first mail to `to`.
    pub async fn first_to(&self, to: &str) -> Mail {
        self.nth_to(to, 1).await
    }

    /// The mails to `to` received so far.
    pub fn to(&self, to: &str) -> Vec<Mail> {
        self.all()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to)))
            .collect()
    }
}
