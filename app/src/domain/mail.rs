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
    /// SMTP when `smtp_url` is given (lettre's URLs:
    /// `smtp://user:pass@host:587?tls=required` for STARTTLS,
    /// `smtps://user:pass@host:465` for TLS, plain `smtp://host:25` for a
    /// relay on the same machine), else the file outbox at `outbox_dir`.
    /// An SMTP exchange taking longer than `timeout` fails (and is logged),
    /// so a stuck relay cannot hold the mail queue.
    pub fn new(
        smtp_url: Option<&str>,
        outbox_dir: &Path,
        from: &str,
        timeout: std::time::Duration,
    ) -> Result<Self, String> {
        let from: Mailbox = from
            .parse()
            .map_err(|error| format!("MAIL_FROM {from:?} is not an address: {error}"))?;
        match smtp_url {
            Some(url) => Ok(Self::Smtp {
                transport: AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|error| format!("SMTP_URL is not usable: {error}"))?
                    .timeout(Some(timeout))
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
                // Written aside, then renamed into place: whoever watches the
                // outbox never sees half an e-mail.
                let partial = path.with_extension("eml.partial");
                tokio::fs::write(&partial, message.formatted())
                    .await
                    .map_err(|error| format!("cannot write {}: {error}", partial.display()))?;
                tokio::fs::rename(&partial, &path)
                    .await
                    .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
                // Where, not what: the body can hold a reset link, and
                // logs travel further than the outbox.
                tracing::info!(
                    path = %path.display(),
                    "e-mail written to the outbox (no SMTP_URL)"
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

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    use super::{Email, Mailer};

    /// A minimal SMTP sink on loopback: accepts one message and returns what
    /// came after DATA.
    async fn smtp_sink() -> (u16, tokio::task::JoinHandle<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (reader, mut writer) = stream.into_split();
            let mut lines = BufReader::new(reader).lines();
            writer.write_all(b"220 sink ESMTP\r\n").await.unwrap();
            let mut data = String::new();
            let mut in_data = false;
            while let Some(line) = lines.next_line().await.unwrap() {
                if in_data {
                    if line == "." {
                        in_data = false;
                        writer.write_all(b"250 queued\r\n").await.unwrap();
                    } else {
                        data.push_str(&line);
                        data.push('\n');
                    }
                    continue;
                }
                let reply: &[u8] = match line.split_whitespace().next().unwrap_or("") {
                    "EHLO" | "HELO" => b"250-sink\r\n250 8BITMIME\r\n",
                    "DATA" => {
                        in_data = true;
                        b"354 go on\r\n"
                    }
                    "QUIT" => {
                        writer.write_all(b"221 bye\r\n").await.unwrap();
                        break;
                    }
                    _ => b"250 ok\r\n",
                };
                writer.write_all(reply).await.unwrap();
            }
            data
        });
        (port, received)
    }

    const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

    #[tokio::test]
    async fn smtp_url_sends_through_that_server() {
        let (port, received) = smtp_sink().await;
        let mailer = Mailer::new(
            Some(&format!("smtp://127.0.0.1:{port}")),
            std::path::Path::new("unused"),
            "ChatApp <chatapp@example.org>",
            TIMEOUT,
        )
        .unwrap();
        assert!(mailer.outbox().is_none());
        let link = format!(
            "https://chat.example.org/reset-password?token={}",
            "ab".repeat(32)
        );
        mailer
            .send(Email {
                to: "ann@example.org".into(),
                subject: "Reset your ChatApp password".into(),
                body: format!("Open this link:\n\n{link}\n"),
            })
            .await
            .unwrap();
        let data = tokio::time::timeout(std::time::Duration::from_secs(30), received)
            .await
            .expect("the sink received the mail within 30 s")
            .unwrap();
        assert!(data.contains("To: ann@example.org"), "{data}");
        assert!(
            data.contains("Subject: Reset your ChatApp password"),
            "{data}"
        );
        // Whole, not wrapped or quoted-printable.
        assert!(data.contains(&link), "{data}");
    }

    #[test]
    fn a_bad_sender_or_smtp_url_is_refused_at_start_up() {
        let outbox = std::path::Path::new("unused");
        assert!(Mailer::new(None, outbox, "not an address", TIMEOUT).is_err());
        assert!(Mailer::new(Some("ftp://nowhere"), outbox, "a@example.org", TIMEOUT).is_err());
    }
}
