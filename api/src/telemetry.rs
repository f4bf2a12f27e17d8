//! Logs and spans: `RUST_LOG` filters (default `info`), `COPLANE_LOG_FORMAT` picks the format.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::settings::LogFormat;

/// Installs the global subscriber, writing to standard output. Later calls do nothing.
pub fn init(format: LogFormat) {
    init_with(format, BoxMakeWriter::new(std::io::stdout));
}

/// Installs the global subscriber, writing to `writer` (the benchmarks log
/// as production does, into a file). Later calls do nothing.
pub fn init_with(format: LogFormat, writer: BoxMakeWriter) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(writer),
            )
            .try_init(),
        LogFormat::Pretty => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .compact()
                    .with_writer(writer),
            )
            .try_init(),
    };
}
