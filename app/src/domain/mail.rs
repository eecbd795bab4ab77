//! Outgoing e-mail: by SMTP (lettre) when `SMTP_URL` is set, otherwise into
//! a file outbox and the log, like Django's console backend, so password
//! reset works (and is testable) on the embedded default.

use std::path::{Path, PathBuf};

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// One plain-text e-mail.
#[derive(Debug, Clone)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Where e-mail goes.
#[derive(Clone)]
pub enum Mailer {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    /// One `.eml` file per message in this directory, and a log line.
    Outbox { dir: PathBuf, from: Mailbox },
}

impl Mailer {
    /// SMTP when `smtp_url` is given (`smtp://user:pass@host:587` with
    /// STARTTLS, `smtps://…` for TLS, `smtp://host:25?tls=none` for a local
    /// relay), else the file outbox at `outbox_dir`.
    pub fn new(smtp_url: Option<&str>, outbox_dir: &Path, from: &str) -> Result<Self, String> {
        let from: Mailbox = from
            .parse()
            .map_err(|error| format!("MAIL_FROM {from:?} is not an address: {error}"))?;
        match smtp_url {
            Some(url) => Ok(Self::Smtp {
                transport: AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|error| format!("SMTP_URL is not usable: {error}"))?
                    .build(),
                from,
            }),
            None => Ok(Self::Outbox {
                dir: outbox_dir.to_owned(),
                from,
            }),
        }
    }

    /// The outbox directory, when mail goes to files.
    pub fn outbox(&self) -> Option<&Path> {
        match self {
            Self::Outbox { dir, .. } => Some(dir),
            Self::Smtp { .. } => None,
        }
    }

    pub async fn send(&self, email: Email) -> Result<(), String> {
        match self {
            Self::Smtp { transport, from } => {
                let message = build(from, &email)?;
                transport
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|error| format!("SMTP: {error}"))
            }
            Self::Outbox { dir, from } => {
                let message = build(from, &email)?;
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
                let name = format!(
                    "{}-{:08x}.eml",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S%.3f"),
                    rand::random::<u32>()
                );
                let path = dir.join(name);
                tokio::fs::write(&path, message.formatted())
                    .await
                    .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
                tracing::info!(
                    to = %email.to,
                    subject = %email.subject,
                    path = %path.display(),
                    "e-mail written to the outbox (no SMTP_URL):\n{}",
                    email.body
                );
                Ok(())
            }
        }
    }
}

fn build(from: &Mailbox, email: &Email) -> Result<Message, String> {
    let to: Mailbox = email
        .to
        .parse()
        .map_err(|error| format!("bad recipient {:?}: {error}", email.to))?;
    // 8-bit, not quoted-printable: links stay whole and readable in the
    // outbox files and the log. lettre picks quoted-printable for any line
    // over 76 characters; ours are far below the real limit of 998.
    if email.body.lines().any(|line| line.len() > 998) || email.body.contains('\0') {
        return Err("the e-mail body has a line too long for 8-bit text".to_owned());
    }
    let body = Body::dangerous_pre_encoded(
        email
            .body
            .replace("\r\n", "\n")
            .replace('\n', "\r\n")
            .into_bytes(),
        ContentTransferEncoding::EightBit,
    );
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(&email.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|error| format!("cannot build the e-mail: {error}"))
}
