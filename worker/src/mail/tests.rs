//! Mail rendering: escaping, strictness, operators' templates.
use super::*;

fn mail() -> Mail {
    Mail {
        template: "reminder".into(),
        to: "a@example.org".into(),
        from_name: "Rho Cloud".into(),
        from_address: Some("support@rho.example".into()),
        values: values(
            LADDER_VALUES,
            &[("name", "A & B <Ltd>"), ("amount", "12.30 EUR")],
        ),
    }
}

/// A value for each of `names`, `<name>-value` unless `set` says otherwise.
fn values(names: &[&str], set: &[(&str, &str)]) -> BTreeMap<String, String> {
    names
        .iter()
        .map(|n| {
            let v = set
                .iter()
                .find(|(k, _)| k == n)
                .map_or_else(|| format!("{n}-value"), |(_, v)| (*v).to_owned());
            ((*n).to_owned(), v)
        })
        .collect()
}

fn config(templates: Option<PathBuf>) -> MailConfig {
    MailConfig {
        from: "coplane <billing@coop.example>".into(),
        templates,
    }
}

/// A directory of operator templates, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn with(files: &[(&str, &str)]) -> Dir {
        let dir = std::env::temp_dir().join(format!("coplane-mail-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        Dir(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

#[test]
fn every_shipped_template_renders_with_the_values_the_code_passes() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/mail");
    for dir in [None, Some(shipped.as_path())] {
        let templates = load_templates(dir).unwrap();
        for b in BUILT_IN {
            let m = Mail {
                template: b.name.into(),
                values: values(b.values, &[]),
                ..mail()
            };
            let (subject, text, html) = templates.render(&m).unwrap();
            for (part, rendered) in [("subject", &subject), ("text", &text), ("html", &html)] {
                assert!(
                    rendered.contains("amount-value") && !rendered.contains('{'),
                    "{}: {part}: {rendered}",
                    b.name
                );
            }
            assert!(text.contains("brand-value") && html.contains("brand-value"));
        }
    }
    let (subject, text, html) = render(&config(None), &mail()).unwrap();
    assert_eq!(subject, "Payment reminder: 12.30 EUR overdue");
    assert!(text.starts_with("Hello A & B <Ltd>,\n"), "{text}");
    assert!(
        text.ends_with("brand-value\n"),
        "the trailing newline stays: {text:?}"
    );
    assert!(html.contains("A &amp; B &lt;Ltd&gt;"), "{html}");
    let msg = message(&config(None), &mail(), "customer:x:1:reminder").unwrap();
    let raw = String::from_utf8(msg.formatted()).unwrap();
    assert!(
        raw.contains("From: \"Rho Cloud\" <support@rho.example>"),
        "{raw}"
    );
}

#[test]
fn values_are_html_escaped_in_html_templates_and_not_in_text_ones() {
    let m = Mail {
        values: values(LADDER_VALUES, &[("name", "<script>alert('x')</script>")]),
        ..mail()
    };
    let (_, text, html) = render(&config(None), &m).unwrap();
    assert!(
        text.contains("Hello <script>alert('x')</script>,"),
        "{text}"
    );
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2f;script&gt;"),
        "{html}"
    );
    let dir = Dir::with(&[(
        "reminder.txt",
        "Subject: {{ name }} owes {{ amount }}\n{{ name }}\n",
    )]);
    let (subject, text, _) = render(&config(Some(dir.0.clone())), &m).unwrap();
    assert_eq!(subject, "<script>alert('x')</script> owes amount-value");
    assert_eq!(text, "<script>alert('x')</script>\n");
}

#[test]
fn a_value_is_data_never_template_source() {
    let m = Mail {
        values: values(
            LADDER_VALUES,
            &[("name", "{{other}} {{ amount }} {% if true %}x{% endif %}")],
        ),
        ..mail()
    };
    let (_, text, html) = render(&config(None), &m).unwrap();
    let literal = "Hello {{other}} {{ amount }} {% if true %}x{% endif %},";
    assert!(text.contains(literal), "{text}");
    assert!(html.contains(literal), "{html}");
}

#[test]
fn an_unknown_placeholder_is_refused_naming_the_template() {
    let dir = Dir::with(&[("reminder.html", "<p>Hello\n{{ nmae }},</p>\n")]);
    let e = load_templates(Some(&dir.0)).unwrap_err();
    assert_eq!(e.file, dir.0.join("reminder.html").display().to_string());
    assert!(e.problem.contains("nmae"), "{e}");
    // Rendering refuses too (here: a recorded mail without a value the
    // template uses), rather than leaving a blank.
    let mut m = mail();
    m.values.remove("days");
    let e = load_templates(None).unwrap().render(&m).unwrap_err();
    assert_eq!(e.file, "deploy/mail/reminder.txt");
    assert!(
        e.problem.contains("line 5")
            && e.problem.contains("undefined")
            && e.problem.contains("days"),
        "{e}"
    );
    let e = render(&config(None), &m).unwrap_err().to_string();
    assert!(e.contains("reminder.txt"), "{e}");
}

#[test]
fn a_bad_template_directory_is_refused_naming_the_file_and_the_problem() {
    let refused = |files: &[(&str, &str)]| {
        let dir = Dir::with(files);
        let e = load_templates(Some(&dir.0)).unwrap_err();
        let file = e
            .file
            .strip_prefix(&*dir.0.display().to_string())
            .map(str::to_owned);
        (file.unwrap_or(e.file), e.problem)
    };
    let (file, problem) = refused(&[("suspension.txt", "Subject: x\n\nHello {{ name }\n")]);
    assert_eq!(file, "/suspension.txt");
    assert!(problem.starts_with("line 3: syntax error"), "{problem}");
    let (file, problem) = refused(&[("suspension.txt", "Hello {{ name }}\n")]);
    assert_eq!(file, "/suspension.txt");
    assert!(problem.contains("Subject:"), "{problem}");
    let (file, problem) = refused(&[("remider.html", "<p>{{ name }}</p>")]);
    assert_eq!(file, "/remider.html");
    assert!(problem.contains("no mail `remider`"), "{problem}");
    let (file, problem) = refused(&[("reminder.html", "{{ customer }}")]);
    assert_eq!(file, "/reminder.html");
    assert!(
        problem.contains("customer"),
        "only the reseller notice has it: {problem}"
    );
    let e = load_templates(Some(Path::new("/nonexistent/coplane-mail"))).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("mail template /nonexistent/coplane-mail: cannot read"),
        "{e}"
    );
    // Other files are left alone.
    let dir = Dir::with(&[("README.md", "{{"), ("reminder.txt~", "{{")]);
    load_templates(Some(&dir.0)).unwrap();
}

#[test]
fn an_operator_template_replaces_the_built_in_one() {
    let dir = Dir::with(&[("reminder.txt", "Subject: Pay {{amount}}\nPlease.")]);
    let (subject, text, html) = render(&config(Some(dir.0.clone())), &mail()).unwrap();
    assert_eq!(
        (subject.as_str(), text.as_str()),
        ("Pay 12.30 EUR", "Please.")
    );
    assert!(
        html.contains("outstanding"),
        "the HTML falls back to the built-in one"
    );
}
