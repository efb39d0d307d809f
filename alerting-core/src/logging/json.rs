//! JSON lines with span fields at the top level, so `tx_hash`, `token` or
//! `batch_id` recorded on a span are searchable like event fields.

use std::fmt;

use serde_json::{Map, Number, Value};
use tracing::field::{Field, Visit};
use tracing::span::Record;
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Keys the formatter writes itself; fields with these names are written
/// as `field.<name>`.
const RESERVED: &[&str] = &[
    "trace_id",
    "span_id",
    "timestamp",
    "level",
    "target",
    "message",
    "span",
    "spans",
    "file",
    "line",
];

/// One JSON object per event:
///
/// ```json
/// {"timestamp":"2025-11-04T12:00:00.000000Z","level":"INFO","target":"bsc::ws",
///  "message":"fast path","batch_id":7,"tx_hash":"0x123","token":"0xabc",
///  "span":"handle_swap","spans":["batch","handle_swap"],"file":"src/ws.rs","line":42}
/// ```
///
/// Fields of the spans the event is in come first (outer spans first, inner
/// ones overriding them), then the event's own fields, which override both.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct JsonLines;

impl<S> FormatEvent<S, SpanFields> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, SpanFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;

        let mut fields = Fields::default();
        let mut span_names = Vec::new();
        // The innermost span's OpenTelemetry ids, when spans are exported.
        #[cfg(feature = "otlp")]
        let mut ids: Option<(String, String)> = None;
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                span_names.push(span.name());
                let extensions = span.extensions();
                #[cfg(feature = "otlp")]
                if let Some(otel) = extensions.get::<tracing_opentelemetry::OtelData>()
                    && let (Some(trace), Some(span)) = (otel.trace_id(), otel.span_id())
                {
                    ids = Some((trace.to_string(), span.to_string()));
                }
                if let Some(formatted) = extensions.get::<FormattedFields<SpanFields>>()
                    && let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&formatted.fields)
                {
                    for (name, value) in map {
                        fields.set(name, value);
                    }
                }
            }
        }
        let mut message = None;
        event.record(&mut Visitor {
            fields: &mut fields,
            message: &mut message,
        });

        let mut line = String::with_capacity(256);
        line.push('{');
        push(&mut line, "timestamp", &Value::String(timestamp));
        push(&mut line, "level", &Value::String(meta.level().to_string()));
        push(
            &mut line,
            "target",
            &Value::String(meta.target().to_owned()),
        );
        if let Some(message) = message {
            push(&mut line, "message", &Value::String(message));
        }
        for (name, value) in &fields.0 {
            if RESERVED.contains(&name.as_str()) {
                push(&mut line, &format!("field.{name}"), value);
            } else {
                push(&mut line, name, value);
            }
        }
        #[cfg(feature = "otlp")]
        if let Some((trace_id, span_id)) = ids {
            push(&mut line, "trace_id", &Value::String(trace_id));
            push(&mut line, "span_id", &Value::String(span_id));
        }
        if let Some(last) = span_names.last() {
            push(&mut line, "span", &Value::String((*last).to_owned()));
            let names = span_names
                .iter()
                .map(|n| Value::String((*n).to_owned()))
                .collect();
            push(&mut line, "spans", &Value::Array(names));
        }
        if let Some(file) = meta.file() {
            push(&mut line, "file", &Value::String(file.to_owned()));
        }
        if let Some(n) = meta.line() {
            push(&mut line, "line", &Value::Number(n.into()));
        }
        line.push('}');
        writeln!(writer, "{line}")
    }
}

fn push(line: &mut String, key: &str, value: &Value) {
    if !line.ends_with('{') {
        line.push(',');
    }
    // Serializing a string or a `Value` cannot fail.
    line.push_str(&serde_json::to_string(key).unwrap_or_default());
    line.push(':');
    line.push_str(&serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned()));
}

/// How a span's fields are kept for [`JsonLines`]: one JSON object, to
/// which `Span::record` adds or replaces fields.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SpanFields;

impl<'writer> FormatFields<'writer> for SpanFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut object = Fields::default();
        record(&mut object, fields);
        write!(writer, "{}", object.into_json())
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &Record<'_>,
    ) -> fmt::Result {
        let mut object = Fields::default();
        if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&current.fields) {
            for (name, value) in map {
                object.set(name, value);
            }
        }
        record(&mut object, fields);
        current.fields = object.into_json();
        Ok(())
    }
}

/// Records `fields` into `object`; a `message` field is kept as a field.
fn record(object: &mut Fields, fields: impl RecordFields) {
    let mut message = None;
    fields.record(&mut Visitor {
        fields: object,
        message: &mut message,
    });
    if let Some(message) = message {
        object.set("message".to_owned(), Value::String(message));
    }
}

/// Fields in first-set order; setting a name again replaces its value.
#[derive(Default)]
struct Fields(Vec<(String, Value)>);

impl Fields {
    fn set(&mut self, name: String, value: Value) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => *v = value,
            None => self.0.push((name, value)),
        }
    }

    /// The fields as one JSON object.
    fn into_json(self) -> String {
        Value::Object(self.0.into_iter().collect::<Map<_, _>>()).to_string()
    }
}

struct Visitor<'a> {
    fields: &'a mut Fields,
    message: &'a mut Option<String>,
}

impl Visitor<'_> {
    fn set(&mut self, field: &Field, value: Value) {
        let name = field.name();
        if name == "message" {
            *self.message = Some(match value {
                Value::String(s) => s,
                other => other.to_string(),
            });
        } else {
            let name = name.strip_prefix("r#").unwrap_or(name);
            self.fields.set(name.to_owned(), value);
        }
    }
}

impl Visit for Visitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let value = Number::from_f64(value)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(value.to_string()));
        self.set(field, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.set(field, Value::Number(value.into()));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.set(field, Value::Number(value.into()));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.set(field, Value::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field, Value::String(value.to_owned()));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.set(field, Value::String(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.set(field, Value::String(format!("{value:?}")));
    }
}
