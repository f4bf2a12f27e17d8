//! Dunning mail: templates (files an operator can replace) rendered and
//! sent over SMTP with lettre.
//!
//! Templates are `<name>.txt` (first line `Subject: …`, then the plain-text
//! body) and `<name>.html`, with `{{value}}` placeholders. The built-in set
//! is `deploy/mail/`; `COPLANE_MAIL_TEMPLATES` names a directory whose
//! files replace it, file by file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use coplane_domain::dunning::{Mail, SendMail};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncTransport, Message};
use sea_orm::{ConnectionTrait, Statement};

use crate::context::WorkerContext;
use crate::runner::Handler;

const BUILT_IN: &[(&str, &str, &str)] = &[
    (
        "reminder",
        include_str!("../../deploy/mail/reminder.txt"),
        include_str!("../../deploy/mail/reminder.html"),
    ),
    (
        "suspension",
        include_str!("../../deploy/mail/suspension.txt"),
        include_str!("../../deploy/mail/suspension.html"),
    ),
    (
        "termination_warning",
        include_str!("../../deploy/mail/termination_warning.txt"),
        include_str!("../../deploy/mail/termination_warning.html"),
    ),
    (
        "payment_received",
        include_str!("../../deploy/mail/payment_received.txt"),
        include_str!("../../deploy/mail/payment_received.html"),
    ),
    (
        "reseller_notice",
        include_str!("../../deploy/mail/reseller_notice.txt"),
        include_str!("../../deploy/mail/reseller_notice.html"),
    ),
];

/// Where mail comes from and what it looks like.
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// The co-op's sender (`coplane <billing@example.coop>`).
    pub from: String,
    /// A directory of templates replacing the built-in ones.
    pub templates: Option<PathBuf>,
}

fn template(config: &MailConfig, name: &str) -> anyhow::Result<(String, String)> {
    let built_in = BUILT_IN.iter().find(|(n, _, _)| *n == name);
    let read = |ext: &str, fallback: Option<&str>| -> anyhow::Result<String> {
        if let Some(dir) = &config.templates {
            let path = dir.join(format!("{name}.{ext}"));
            if path.exists() {
                return Ok(std::fs::read_to_string(&path)?);
            }
        }
        fallback
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("no mail template {name}.{ext}"))
    };
    Ok((
        read("txt", built_in.map(|b| b.1))?,
        read("html", built_in.map(|b| b.2))?,
    ))
}

fn fill(text: &str, values: &BTreeMap<String, String>, escape: bool) -> String {
    let mut out = text.to_owned();
    for (k, v) in values {
        let v = if escape {
            v.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
        } else {
            v.clone()
        };
        out = out.replace(&format!("{{{{{k}}}}}"), &v);
    }
    out
}

/// Renders a recorded mail: (subject, text, html).
pub fn render(config: &MailConfig, mail: &Mail) -> anyhow::Result<(String, String, String)> {
    let (txt, html) = template(config, &mail.template)?;
    let (first, body) = txt.split_once('\n').unwrap_or((&txt, ""));
    let subject = first
        .strip_prefix("Subject:")
        .map(str::trim)
        .ok_or_else(|| anyhow::anyhow!("{}.txt does not start with `Subject:`", mail.template))?;
    Ok((
        fill(subject, &mail.values, false),
        fill(body.trim_start_matches('\n'), &mail.values, false),
        fill(&html, &mail.values, true),
    ))
}

/// Builds the message: from the brand (its own address, or the co-op's),
/// with a Message-ID derived from the step's dedup key.
pub fn message(config: &MailConfig, mail: &Mail, dedup: &str) -> anyhow::Result<Message> {
    let (subject, text, html) = render(config, mail)?;
    let coop: Mailbox = config.from.parse()?;
    let address = match &mail.from_address {
        Some(a) => a.parse()?,
        None => coop.email.clone(),
    };
    let from = Mailbox::new(Some(mail.from_name.clone()), address);
    let id: String = dedup
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '.'
            }
        })
        .collect();
    Ok(Message::builder()
        .from(from)
        .to(mail.to.parse()?)
        .subject(subject)
        .message_id(Some(format!("<{id}@coplane>")))
        .multipart(MultiPart::alternative_plain_html(text, html))?)
}

#[async_trait::async_trait]
impl Handler<WorkerContext> for SendMail {
    /// Sends once: the step was recorded (with its mail) before this job
    /// ran, in the transaction that took the step, so a crash can never
    /// lose a step. `sent_at` is stamped after the SMTP server accepted the
    /// message, so a crash can never lose a mail either; the one window left
    /// is a crash between the server's acceptance and the stamp, after
    /// which the retry sends it again with the same Message-ID (receivers
    /// and the sink can tell the copy). Recording "sent" before sending
    /// would close that window by losing mail instead, which dunning must
    /// not do.
    async fn run(self, ctx: &WorkerContext) -> anyhow::Result<()> {
        let db = &ctx.db;
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT details, sent_at, dedup_key FROM dunning_steps WHERE id = $1",
                [self.step_id.into()],
            ))
            .await?;
        let Some(row) = row else {
            return Ok(());
        };
        let sent: Option<chrono::DateTime<chrono::Utc>> = row.try_get("", "sent_at")?;
        if sent.is_some() {
            return Ok(());
        }
        let Some(details) = row.try_get::<Option<String>>("", "details")? else {
            return Ok(());
        };
        let mail: Mail = serde_json::from_str(&details)?;
        let dedup: String = row.try_get("", "dedup_key")?;
        let Some(mailer) = &ctx.mailer else {
            tracing::warn!(step = %self.step_id, template = %mail.template, "no SMTP server configured (COPLANE_SMTP_URL): mail not sent");
            return Ok(());
        };
        let msg = message(&ctx.mail, &mail, &dedup)?;
        mailer.transport.send(msg).await?;
        db.execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "UPDATE dunning_steps SET sent_at = $2 WHERE id = $1",
            [self.step_id.into(), ctx.clock.now().into()],
        ))
        .await?;
        tracing::info!(step = %self.step_id, template = %mail.template, to = %mail.to, "mail sent");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail() -> Mail {
        Mail {
            template: "reminder".into(),
            to: "a@example.org".into(),
            from_name: "Rho Cloud".into(),
            from_address: Some("support@rho.example".into()),
            values: [
                ("name".to_owned(), "A & B <Ltd>".to_owned()),
                ("amount".to_owned(), "12.30 EUR".to_owned()),
            ]
            .into(),
        }
    }

    #[test]
    fn every_built_in_template_renders_with_a_subject() {
        let config = MailConfig {
            from: "coplane <billing@coop.example>".into(),
            templates: None,
        };
        for (name, _, _) in BUILT_IN {
            let m = Mail {
                template: (*name).into(),
                ..mail()
            };
            let (subject, text, html) = render(&config, &m).unwrap();
            assert!(
                !subject.is_empty() && !text.is_empty() && !html.is_empty(),
                "{name}"
            );
        }
        let (subject, text, html) = render(&config, &mail()).unwrap();
        assert_eq!(subject, "Payment reminder: 12.30 EUR overdue");
        assert!(text.starts_with("Hello A & B <Ltd>,"));
        assert!(
            html.contains("A &amp; B &lt;Ltd&gt;"),
            "values are escaped in HTML"
        );
        let msg = message(&config, &mail(), "customer:x:1:reminder").unwrap();
        let raw = String::from_utf8(msg.formatted()).unwrap();
        assert!(
            raw.contains("From: \"Rho Cloud\" <support@rho.example>"),
            "{raw}"
        );
    }

    #[test]
    fn an_operator_template_replaces_the_built_in_one() {
        let dir = std::env::temp_dir().join(format!("coplane-mail-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("reminder.txt"), "Subject: Pay {{amount}}\nPlease.").unwrap();
        let config = MailConfig {
            from: "coplane <billing@coop.example>".into(),
            templates: Some(dir.clone()),
        };
        let (subject, text, html) = render(&config, &mail()).unwrap();
        assert_eq!(
            (subject.as_str(), text.as_str()),
            ("Pay 12.30 EUR", "Please.")
        );
        assert!(
            html.contains("outstanding"),
            "the HTML falls back to the built-in one"
        );
        std::fs::remove_dir_all(dir).ok();
    }
}
