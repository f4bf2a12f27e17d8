//! Dunning mail: templates (files an operator can replace) rendered into
//! lettre messages, which the `SendMail` job (`jobs/dunning/`) sends over
//! SMTP.
//!
//! Templates are [minijinja](https://docs.rs/minijinja) files: `<name>.txt`
//! (first line `Subject: …`, then the plain-text body) and `<name>.html`,
//! with `{{ value }}` placeholders. Values are HTML-escaped in `.html`
//! templates and inserted as they are in `.txt` ones; a placeholder without
//! a value is an error, never a blank; a value is data, never template
//! source (a `{{ … }}` inside a value stays as it is). The built-in set is
//! `deploy/mail/`; `COPLANE_MAIL_TEMPLATES` names a directory whose files
//! replace it, file by file. [`load_templates`] compiles and checks them
//! all, for start-up to refuse a bad directory.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use coplane_domain::dunning::Mail;
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

/// The values the dunning ladder passes to most templates
/// (`coplane_domain::dunning::mail_for`).
const LADDER_VALUES: &[&str] = &[
    "name", "brand", "amount", "invoice", "due_date", "days", "step",
];

/// A mail coplane sends: its built-in text and HTML templates, and the
/// names of the values it is rendered with (kept in step with
/// `coplane_domain::dunning`, which records them).
struct BuiltIn {
    name: &'static str,
    txt: &'static str,
    html: &'static str,
    values: &'static [&'static str],
}

const BUILT_IN: &[BuiltIn] = &[
    BuiltIn {
        name: "reminder",
        txt: include_str!("../../../deploy/mail/reminder.txt"),
        html: include_str!("../../../deploy/mail/reminder.html"),
        values: LADDER_VALUES,
    },
    BuiltIn {
        name: "suspension",
        txt: include_str!("../../../deploy/mail/suspension.txt"),
        html: include_str!("../../../deploy/mail/suspension.html"),
        values: LADDER_VALUES,
    },
    BuiltIn {
        name: "termination_warning",
        txt: include_str!("../../../deploy/mail/termination_warning.txt"),
        html: include_str!("../../../deploy/mail/termination_warning.html"),
        values: LADDER_VALUES,
    },
    BuiltIn {
        name: "payment_received",
        txt: include_str!("../../../deploy/mail/payment_received.txt"),
        html: include_str!("../../../deploy/mail/payment_received.html"),
        // `coplane_domain::dunning::payment_received`.
        values: &["name", "brand", "amount", "invoice", "due"],
    },
    BuiltIn {
        name: "reseller_notice",
        txt: include_str!("../../../deploy/mail/reseller_notice.txt"),
        html: include_str!("../../../deploy/mail/reseller_notice.html"),
        values: &[
            "name", "brand", "amount", "invoice", "due_date", "days", "step", "customer",
        ],
    },
];

/// Where mail comes from and what it looks like.
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// The co-op's sender (`coplane <billing@example.coop>`).
    pub from: String,
    /// A directory of templates replacing the built-in ones.
    pub templates: Option<PathBuf>,
}

/// A mail template that cannot be used: the file, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("mail template {file}: {problem}")]
pub struct MailTemplateError {
    /// The file (its path, for an operator's; `deploy/mail/…` for a
    /// built-in one).
    pub file: String,
    /// What is wrong, with the line when known.
    pub problem: String,
}

/// Where a compiled template came from.
#[derive(Debug)]
struct Origin {
    file: String,
    /// The file's line the template's source starts on.
    first_line: usize,
}

/// Every mail template, compiled: the built-in ones, each replaced by the
/// operator's file of the same name when there is one.
#[derive(Debug)]
pub struct MailTemplates {
    env: Environment<'static>,
    /// Template name (`reminder.subject`, `reminder.txt`, `reminder.html`)
    /// to the file it came from.
    origins: HashMap<String, Origin>,
}

/// Loads and compiles every mail template: the built-in ones, replaced
/// file by file by those in `dir` (`COPLANE_MAIL_TEMPLATES`). Fails, naming
/// the file and the problem, on a directory or file that cannot be read, a
/// `.txt` or `.html` file that is no mail coplane sends, a syntax error, a
/// `.txt` without its `Subject:` line, or a placeholder coplane passes no
/// value for.
pub fn load_templates(dir: Option<&Path>) -> Result<MailTemplates, MailTemplateError> {
    let mut replaced: HashMap<String, (String, String)> = HashMap::new();
    if let Some(dir) = dir {
        let unreadable = |e: std::io::Error| MailTemplateError {
            file: dir.display().to_string(),
            problem: format!("cannot read the directory: {e}"),
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(unreadable)? {
            paths.push(entry.map_err(unreadable)?.path());
        }
        paths.sort();
        for path in paths {
            let file = path.display().to_string();
            let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some((name, ext)) = file_name.rsplit_once('.') else {
                continue;
            };
            if !matches!(ext, "txt" | "html") || !path.is_file() {
                continue;
            }
            if !BUILT_IN.iter().any(|b| b.name == name) {
                let known: Vec<&str> = BUILT_IN.iter().map(|b| b.name).collect();
                return Err(MailTemplateError {
                    file,
                    problem: format!(
                        "coplane sends no mail `{name}` (it sends {})",
                        known.join(", ")
                    ),
                });
            }
            let source = std::fs::read_to_string(&path).map_err(|e| MailTemplateError {
                file: file.clone(),
                problem: format!("cannot read it: {e}"),
            })?;
            replaced.insert(file_name.to_owned(), (file, source));
        }
    }

    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    // Keep the files' last newline, as they are written.
    let syntax = SyntaxConfig::builder()
        .keep_trailing_newline(true)
        .build()
        .expect("the default syntax is valid");
    env.set_syntax(syntax);
    let mut templates = MailTemplates {
        env,
        origins: HashMap::new(),
    };
    for b in BUILT_IN {
        for (ext, built_in) in [("txt", b.txt), ("html", b.html)] {
            let file_name = format!("{}.{ext}", b.name);
            let (file, source) = replaced
                .remove(&file_name)
                .unwrap_or_else(|| (format!("deploy/mail/{file_name}"), built_in.to_owned()));
            if ext == "html" {
                templates.add(file_name, &file, 1, source, b.values)?;
                continue;
            }
            let (first, rest) = source.split_once('\n').unwrap_or((&source, ""));
            let subject = first
                .strip_prefix("Subject:")
                .ok_or_else(|| MailTemplateError {
                    file: file.clone(),
                    problem: "the first line is not `Subject: …`".into(),
                })?
                .trim();
            let body = rest.trim_start_matches('\n');
            let body_line = 2 + (rest.len() - body.len());
            let (subject, body) = (subject.to_owned(), body.to_owned());
            templates.add(format!("{}.subject", b.name), &file, 1, subject, b.values)?;
            templates.add(file_name, &file, body_line, body, b.values)?;
        }
    }
    Ok(templates)
}

impl MailTemplates {
    fn add(
        &mut self,
        name: String,
        file: &str,
        first_line: usize,
        source: String,
        values: &[&str],
    ) -> Result<(), MailTemplateError> {
        let origin = Origin {
            file: file.to_owned(),
            first_line,
        };
        self.env
            .add_template_owned(name.clone(), source)
            .map_err(|e| origin.error(&e, ""))?;
        let template = self.env.get_template(&name).expect("just added");
        let unknown = self.unknown(&template, values.iter().copied());
        if !unknown.is_empty() {
            return Err(MailTemplateError {
                file: file.to_owned(),
                problem: format!(
                    "no value for {} (the values are {})",
                    unknown.join(", "),
                    values.join(", ")
                ),
            });
        }
        self.origins.insert(name, origin);
        Ok(())
    }

    /// The variables `template` uses that are neither among `values` nor
    /// minijinja's globals (`range`, `dict`, …).
    fn unknown<'a>(
        &'a self,
        template: &minijinja::Template<'_, '_>,
        values: impl Iterator<Item = &'a str>,
    ) -> Vec<String> {
        let known: BTreeSet<&str> = values.chain(self.env.globals().map(|(n, _)| n)).collect();
        let mut unknown: Vec<String> = template
            .undeclared_variables(false)
            .into_iter()
            .filter(|v| !known.contains(v.as_str()))
            .collect();
        unknown.sort();
        unknown
    }

    fn render_one(
        &self,
        name: &str,
        values: &BTreeMap<String, String>,
    ) -> Result<String, MailTemplateError> {
        let origin = &self.origins[name];
        let template = self
            .env
            .get_template(name)
            .map_err(|e| origin.error(&e, ""))?;
        let context = Value::from_pairs(values.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        template.render(context).map_err(|e| {
            let missing = self.unknown(&template, values.keys().map(String::as_str));
            let missing = if missing.is_empty() || e.kind() != minijinja::ErrorKind::UndefinedError
            {
                String::new()
            } else {
                format!(" (no value for {})", missing.join(", "))
            };
            origin.error(&e, &missing)
        })
    }

    /// Renders a recorded mail: (subject, text, html).
    pub fn render(&self, mail: &Mail) -> Result<(String, String, String), MailTemplateError> {
        let name = &mail.template;
        if !self.origins.contains_key(&format!("{name}.txt")) {
            return Err(MailTemplateError {
                file: format!("{name}.txt"),
                problem: "coplane sends no such mail".into(),
            });
        }
        Ok((
            self.render_one(&format!("{name}.subject"), &mail.values)?,
            self.render_one(&format!("{name}.txt"), &mail.values)?,
            self.render_one(&format!("{name}.html"), &mail.values)?,
        ))
    }
}

impl Origin {
    fn error(&self, e: &minijinja::Error, extra: &str) -> MailTemplateError {
        let mut problem = e.kind().to_string();
        if let Some(detail) = e.detail() {
            problem = format!("{problem}: {detail}");
        }
        if let Some(line) = e.line() {
            problem = format!("line {}: {problem}", line + self.first_line - 1);
        }
        MailTemplateError {
            file: self.file.clone(),
            problem: problem + extra,
        }
    }
}

/// Renders a recorded mail: (subject, text, html). The templates are read
/// afresh, so an operator's edit applies to the next mail.
pub fn render(config: &MailConfig, mail: &Mail) -> anyhow::Result<(String, String, String)> {
    Ok(load_templates(config.templates.as_deref())?.render(mail)?)
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

#[cfg(test)]
mod tests;
