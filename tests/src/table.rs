//! Table-driven checks that report every failing row, not only the first.
//!
//! A [`Table`] collects each row's outcome; [`Table::finish`] fails the
//! test once, listing every row whose outcome was not the expected one
//! (its name, what was expected, what it got, as JSON). [`Table::row`]
//! also turns a panic inside a row (a helper's own assertion, a 500) into
//! that row's outcome, so the rows after it still run.
//!
//! ```ignore
//! let mut table = Table::new("createTenant refusals");
//! for (name, input, code) in rows {
//!     table
//!         .row(name, json!(code), async {
//!             let body = app.graphql_vars(M, input, token).await;
//!             (body["data"]["createTenant"]["userErrors"][0]["code"].clone(), body)
//!         })
//!         .await;
//! }
//! table.finish();
//! ```

use std::fmt::{Display, Write};
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use serde::Serialize;

/// One table's rows and the failures among them.
#[must_use = "a table reports its failures only in `finish`"]
pub struct Table {
    name: String,
    rows: usize,
    failures: Vec<String>,
    finished: bool,
}

impl Table {
    /// An empty table named `name` (named in the failure report).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            rows: 0,
            failures: Vec::new(),
            finished: false,
        }
    }

    /// Checks one row: it fails when `got` is not `expected`.
    pub fn check<T: PartialEq + Serialize>(
        &mut self,
        row: impl Display,
        expected: T,
        got: T,
    ) -> bool {
        self.check_with(row, expected, got, "")
    }

    /// Checks one row as [`Table::check`] does; a failure also shows `shown`
    /// (the response, say).
    pub fn check_with<T: PartialEq + Serialize>(
        &mut self,
        row: impl Display,
        expected: T,
        got: T,
        shown: impl Display,
    ) -> bool {
        self.rows += 1;
        let ok = got == expected;
        if !ok {
            self.record(&row, &expected, &as_json(&got), &shown.to_string());
        }
        ok
    }

    /// Runs one row: `got` yields the row's outcome and what to show if it
    /// fails. A panic inside `got` is the row's outcome ("panicked: …"), and
    /// the table goes on with the next row.
    pub async fn row<T, S>(
        &mut self,
        row: impl Display,
        expected: T,
        got: impl Future<Output = (T, S)>,
    ) -> bool
    where
        T: PartialEq + Serialize,
        S: Display,
    {
        match caught(got).await {
            Ok((got, shown)) => self.check_with(row, expected, got, shown),
            Err(panic) => {
                self.rows += 1;
                self.record(&row, &expected, &format!("panicked: {panic}"), "");
                false
            }
        }
    }

    /// How many rows were checked so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Fails the test when a row failed, listing every failing row.
    #[track_caller]
    pub fn finish(mut self) {
        self.finished = true;
        if self.failures.is_empty() {
            return;
        }
        let mut report = format!(
            "{}: {} of {} rows failed\n",
            self.name,
            self.failures.len(),
            self.rows
        );
        for failure in &self.failures {
            let _ = writeln!(report, "{failure}");
        }
        panic!("{report}");
    }

    fn record(&mut self, row: &dyn Display, expected: &impl Serialize, got: &str, shown: &str) {
        let expected = as_json(expected);
        let mut failure = format!("  - {row}\n      expected: {expected}\n      got:      {got}");
        if !shown.is_empty() {
            let _ = write!(failure, "\n      shown:    {shown}");
        }
        self.failures.push(failure);
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        if !self.finished && !std::thread::panicking() {
            panic!(
                "table {:?} was dropped without `finish`: its failures would go unreported",
                self.name
            );
        }
    }
}

/// An outcome as the report shows it: JSON (a tuple is an array).
fn as_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| format!("(not shown: {e})"))
}

/// Runs `fut`; a panic inside it becomes `Err` with the panic's message.
pub async fn caught<T>(fut: impl Future<Output = T>) -> Result<T, String> {
    AssertUnwindSafe(fut).catch_unwind().await.map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "a panic without a message".to_owned())
    })
}
