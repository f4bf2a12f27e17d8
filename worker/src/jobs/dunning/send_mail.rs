//! Sends a dunning step's mail, once.

use coplane_domain::dunning::{Mail, SendMail};
use lettre::AsyncTransport;
use sea_orm::{ConnectionTrait, Statement};

use crate::context::WorkerContext;
use crate::mail::message;
use crate::runner::Handler;

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
