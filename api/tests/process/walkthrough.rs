//! The README's walkthrough, run as written.

use serde_json::Value;

use super::*;

/// A run of walkthrough lines and the answer the README shows for them.
#[derive(Debug)]
struct Step {
    code: String,
    /// The `# {…}` comment after the code, as JSON text; `None`: prints nothing.
    expected: Option<String>,
}

/// The `sh` blocks between the walkthrough's heading and the next `## `.
fn walkthrough_blocks(readme: &str) -> Vec<String> {
    let start = readme
        .find("\n## Walkthrough")
        .expect("the README has a `## Walkthrough` section");
    let section = &readme[start + 1..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    let section = &section[..end];
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in section.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(Vec::new()),
            (Some(lines), "```") => {
                blocks.push(lines.join("\n"));
                current = None;
            }
            (Some(lines), _) => lines.push(line),
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "an unclosed sh block in the walkthrough");
    blocks
}

/// Splits the blocks into steps: the code up to each `# {` comment (which
/// may go on over following `#` lines until it is whole JSON) is a step
/// expecting that answer; code after the last comment of a block prints
/// nothing.
fn steps(blocks: &[String]) -> Vec<Step> {
    let mut steps = Vec::new();
    for block in blocks {
        let mut code: Vec<&str> = Vec::new();
        let mut lines = block.lines();
        while let Some(line) = lines.next() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("# {") || trimmed.starts_with("# [") {
                let mut text = trimmed[2..].trim().to_owned();
                while serde_json::from_str::<Value>(&text).is_err() {
                    let next = lines.next().unwrap_or_else(|| {
                        panic!("the answer comment `{text}` in the walkthrough is not JSON")
                    });
                    let next = next.trim_start().strip_prefix('#').unwrap_or_else(|| {
                        panic!("the answer comment `{text}` in the walkthrough is not JSON")
                    });
                    text.push_str(next.trim());
                }
                assert!(
                    code.iter().any(|l| !l.trim().is_empty()),
                    "the answer `{text}` in the walkthrough follows no command"
                );
                steps.push(Step {
                    code: code.join("\n"),
                    expected: Some(text),
                });
                code.clear();
            } else {
                code.push(line);
            }
        }
        if code.iter().any(|l| !l.trim().is_empty()) {
            steps.push(Step {
                code: code.join("\n"),
                expected: None,
            });
        }
    }
    steps
}

/// Whether `actual` is what the README shows: the same JSON, where a string
/// ending in `…` is a prefix of a longer string.
fn compare(expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::String(e), Value::String(a)) => {
            let ok = match e.strip_suffix('…') {
                Some(prefix) => a.starts_with(prefix) && a.len() > prefix.len(),
                None => e == a,
            };
            if ok {
                Ok(())
            } else {
                Err(format!("at {at}: expected {e:?}, got {a:?}"))
            }
        }
        (Value::Object(e), Value::Object(a)) => {
            let ek: Vec<&String> = e.keys().collect();
            let ak: Vec<&String> = a.keys().collect();
            if ek != ak {
                return Err(format!("at {at}: expected the keys {ek:?}, got {ak:?}"));
            }
            for (k, ev) in e {
                compare(ev, &a[k], &format!("{at}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!(
                    "at {at}: expected {} items, got {}",
                    e.len(),
                    a.len()
                ));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                compare(ev, av, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        _ if expected == actual => Ok(()),
        _ => Err(format!("at {at}: expected {expected}, got {actual}")),
    }
}

#[test]
fn the_walkthrough_parser_and_comparison_hold_to_their_rules() {
    let blocks = vec![
        "A=1\ngql x\n# {\"a\":[1,\n#   \"b…\"]}\nB=2".to_owned(),
        "# a remark\nC=3".to_owned(),
    ];
    let s = steps(&blocks);
    assert_eq!(s.len(), 3, "{s:?}");
    assert_eq!(s[0].code, "A=1\ngql x");
    assert_eq!(s[0].expected.as_deref(), Some("{\"a\":[1,\"b…\"]}"));
    assert_eq!(
        (s[1].code.as_str(), s[1].expected.as_deref()),
        ("B=2", None)
    );
    assert_eq!(s[2].code, "# a remark\nC=3");
    let expected: Value = serde_json::from_str(s[0].expected.as_deref().unwrap_or("")).unwrap();
    let ok = serde_json::json!({"a": [1, "bcd"]});
    assert_eq!(compare(&expected, &ok, "$"), Ok(()));
    for bad in [
        serde_json::json!({"a": [1, "b"]}),
        serde_json::json!({"a": [1, "xbc"]}),
        serde_json::json!({"a": [1, "bcd"], "extra": 1}),
        serde_json::json!({"a": [1, "bcd", 2]}),
        serde_json::json!({"a": [2, "bcd"]}),
    ] {
        assert!(compare(&expected, &bad, "$").is_err(), "{bad}");
    }
}

#[test]
fn the_readme_walkthrough_runs_as_written() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("reading README.md");
    let blocks = walkthrough_blocks(&readme);
    assert!(
        blocks.len() >= 4,
        "the walkthrough has {} sh blocks",
        blocks.len()
    );
    let steps = steps(&blocks);
    let answers = steps.iter().filter(|s| s.expected.is_some()).count();
    assert!(
        answers >= 8,
        "the walkthrough shows {answers} answers; expected its eight requests"
    );

    let tmp = TempDir::new("walkthrough");
    let server = start_up(&tmp);

    // One bash session, as if the blocks were pasted in order; a marker
    // before each step separates the steps' output.
    let marker = |n: usize| format!("==coplane-walkthrough-step {n}==");
    let mut script = String::new();
    for (n, step) in steps.iter().enumerate() {
        script.push_str(&format!("printf '\\n%s\\n' '{}'\n", marker(n)));
        script.push_str(&step.code);
        script.push('\n');
    }
    script.push_str(&format!("printf '\\n%s\\n' '{}'\n", marker(steps.len())));
    let mut cmd = Command::new("bash");
    cmd.args(["-euo", "pipefail", "-c", &script])
        .current_dir(tmp.work());
    clean_env(&mut cmd, &tmp);
    let mut bash = cmd
        .env("COPLANE", BIN)
        .env(
            "GRAPHQL",
            format!("http://127.0.0.1:{}/graphql", server.port),
        )
        .stdin(Stdio::null())
        .stdout(log_file(&tmp, "walkthrough.stdout"))
        .stderr(log_file(&tmp, "walkthrough.stderr"))
        .spawn()
        .expect("starting bash");
    let status = wait_at_most(&mut bash, Duration::from_secs(120));
    let stdout = read(&tmp, "walkthrough.stdout");
    let stderr = read(&tmp, "walkthrough.stderr");

    // Each step's output: between its marker and the next.
    let mut outputs = Vec::new();
    let mut rest = stdout.as_str();
    for n in 0..=steps.len() {
        let m = format!("\n{}\n", marker(n));
        match rest.find(&m) {
            Some(i) => {
                if n > 0 {
                    outputs.push(rest[..i].trim().to_owned());
                }
                rest = &rest[i + m.len()..];
            }
            None => {
                if n > 0 {
                    outputs.push(rest.trim().to_owned());
                }
                break;
            }
        }
    }
    let mut failures = Vec::new();
    for (n, step) in steps.iter().enumerate() {
        let Some(output) = outputs.get(n) else {
            break;
        };
        let problem = match &step.expected {
            None if output.is_empty() => None,
            None => Some(format!("printed {output:?}, the README shows nothing")),
            Some(expected) => {
                let expected: Value = serde_json::from_str(expected).expect("checked JSON");
                match serde_json::from_str::<Value>(output) {
                    Err(e) => Some(format!("printed {output:?}, not JSON ({e})")),
                    Ok(actual) => compare(&expected, &actual, "$")
                        .err()
                        .map(|e| format!("{e}\n  printed: {output}")),
                }
            }
        };
        if let Some(p) = problem {
            failures.push(format!("step {n}:\n{}\n  {p}", step.code));
        }
    }
    let finished = outputs.len() == steps.len() && rest.trim().is_empty();
    let succeeded = status.is_some_and(|s| s.success());
    if !failures.is_empty() || !finished || !succeeded {
        let stopped_in = steps.get(outputs.len().saturating_sub(1));
        panic!(
            "the walkthrough does not run as written (bash: {}):\n{}\n\
             {}\nbash's stderr:\n{stderr}\nthe server's log:\n{}",
            status.map_or("timed out after 120 s".into(), |s| s.to_string()),
            failures.join("\n"),
            if finished {
                String::new()
            } else {
                format!(
                    "it stopped in step {}:\n{}\n",
                    outputs.len().saturating_sub(1),
                    stopped_in.map_or("", |s| s.code.as_str())
                )
            },
            output_of(&tmp, "server")
        );
    }
    drop(server);
}
