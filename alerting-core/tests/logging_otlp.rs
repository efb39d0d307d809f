//! `[logging.otlp]`: spans reach an OTLP/HTTP receiver started here on
//! 127.0.0.1, which decodes what it was sent (protobuf, as a collector
//! does) and checks names, parent links, attributes and the service name;
//! the JSON log line of an event carries the trace and span ids of the
//! span it was in.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alerting_core::config::{LogFormat, LoggingConfig, OtlpConfig};
use alerting_core::logging::LoggingBuilder;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

/// The requests a receiver got: (path, decoded body).
type Received = Arc<Mutex<Vec<(String, ExportTraceServiceRequest)>>>;

/// An OTLP/HTTP traces receiver on 127.0.0.1:0; answers 200 to every
/// POST whose body decodes, 400 otherwise.
fn receiver() -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let received: Received = Arc::default();
    let store = Arc::clone(&received);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = handle(stream, &store);
        }
    });
    (format!("http://{addr}/v1/traces"), received)
}

fn handle(mut stream: TcpStream, store: &Received) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let start = loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..start]).to_string();
    let path = head.split(' ').nth(1).unwrap_or_default().to_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while data.len() < start + length {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    let status = match ExportTraceServiceRequest::decode(&data[start..]) {
        Ok(request) => {
            store.lock().unwrap().push((path, request));
            "200 OK"
        }
        Err(_) => "400 Bad Request",
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    )
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn attribute(span: &Span, key: &str) -> Option<AnyValue> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.clone()?.value)
}

#[test]
fn spans_reach_the_collector_with_their_parents_and_fields_and_logs_carry_their_ids() {
    let (endpoint, received) = receiver();
    let mut otlp = OtlpConfig::default();
    otlp.endpoint = endpoint;
    let mut config = LoggingConfig::default();
    config.format = LogFormat::Json;
    config.otlp = Some(otlp);
    let logs = Buffer::default();
    let (dispatch, guard) = LoggingBuilder::new(&config)
        .writer(logs.clone())
        .rust_log(None)
        .service_name("otlp-test")
        .build()
        .expect("logging with span export");

    tracing::dispatcher::with_default(&dispatch, || {
        let batch = tracing::info_span!("batch", batch_id = 7);
        let _batch = batch.enter();
        let swap = tracing::info_span!("handle_swap", tx_hash = "0xabc", amount_usd = 512.5);
        let _swap = swap.enter();
        tracing::info!("alerted");
    });
    // Exports what is batched, then stops the writer.
    guard.flush();

    let requests = received.lock().unwrap().clone();
    assert!(!requests.is_empty(), "nothing exported");
    assert!(requests.iter().all(|(path, _)| path == "/v1/traces"));
    let mut spans = Vec::new();
    for (_, request) in &requests {
        for resource in &request.resource_spans {
            let service = resource
                .resource
                .as_ref()
                .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
                .and_then(|kv| kv.value.clone()?.value);
            assert_eq!(service, Some(AnyValue::StringValue("otlp-test".into())));
            for scope in &resource.scope_spans {
                spans.extend(scope.spans.iter().cloned());
            }
        }
    }
    let find = |name: &str| {
        spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no span {name} in {spans:?}"))
            .clone()
    };
    let (batch, swap) = (find("batch"), find("handle_swap"));
    assert_eq!(swap.trace_id, batch.trace_id, "one trace");
    assert_eq!(
        swap.parent_span_id, batch.span_id,
        "handle_swap is batch's child"
    );
    assert!(batch.parent_span_id.is_empty(), "batch is the root");
    assert_eq!(attribute(&batch, "batch_id"), Some(AnyValue::IntValue(7)));
    assert_eq!(
        attribute(&swap, "tx_hash"),
        Some(AnyValue::StringValue("0xabc".into()))
    );
    assert_eq!(
        attribute(&swap, "amount_usd"),
        Some(AnyValue::DoubleValue(512.5))
    );
    // The event is exported as a span event.
    assert!(
        swap.events.iter().any(|e| e.name == "alerted"),
        "{:?}",
        swap.events
    );

    // The log line names the same trace and span.
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let line: serde_json::Value = text
        .lines()
        .find(|l| l.contains("alerted"))
        .map(|l| serde_json::from_str(l).unwrap())
        .unwrap_or_else(|| panic!("no log line in {text}"));
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(line["trace_id"], hex(&swap.trace_id));
    assert_eq!(line["span_id"], hex(&swap.span_id));
    assert_eq!(line["tx_hash"], "0xabc");
}

#[test]
fn a_collector_that_is_down_loses_spans_not_logs() {
    // A port with nothing listening.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut otlp = OtlpConfig::default();
    otlp.endpoint = format!("http://{closed}/v1/traces");
    otlp.timeout = Duration::from_millis(500);
    let mut config = LoggingConfig::default();
    config.format = LogFormat::Json;
    config.otlp = Some(otlp);
    let logs = Buffer::default();
    let (dispatch, guard) = LoggingBuilder::new(&config)
        .writer(logs.clone())
        .rust_log(None)
        .build()
        .unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        let span = tracing::info_span!("work");
        let _entered = span.enter();
        tracing::info!("still logged");
    });
    guard.flush();
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("still logged"), "{text}");
}
