//! The examples of the derives' documentation in alerting-macros (written
//! as ```text there, since a proc-macro crate cannot run them), kept here so
//! they compile and hold. Change both together.

mod label_value {
    use alerting_core::metrics::{EnumLabel, LabelValue};

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
    enum Status {
        Ok,
        RateLimited,
        #[label(rename = "5xx")]
        ServerError,
    }

    pub fn run() {
        assert_eq!(Status::RateLimited.as_str(), "rate_limited");
        assert_eq!(Status::ServerError.as_str(), "5xx");
        assert_eq!(Status::VALUES.len(), 3);
        assert_eq!(Status::Ok.index(), 0);
    }
}

mod label_set {
    use alerting_core::metrics::{FixedLabelSet, LabelSet, LabelValue};

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
    enum Chain {
        Bsc,
        Sol,
    }

    // Enums and bool, and Copy: a FixedLabelSet, for a `Family`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
    struct Rpc {
        chain: Chain,
        ok: bool,
    }

    // A string field: a LabelSet for a `DynamicFamily`.
    #[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
    struct Api {
        chain: Chain,
        #[label(rename = "api")]
        api_name: &'static str,
    }

    pub fn run() {
        assert_eq!(<Rpc as FixedLabelSet>::CARDINALITY, 4);
        assert_eq!(<Api as LabelSet>::NAMES, &["chain", "api"]);
        let _ = (
            Chain::Sol,
            Rpc {
                chain: Chain::Bsc,
                ok: true,
            }
            .ok,
        );
        let _ = Api {
            chain: Chain::Bsc,
            api_name: "",
        }
        .api_name;
    }
}

mod metric_group {
    use alerting_core::metrics::{
        Counter, DynamicFamily, Histogram, LabelSet, MetricGroup, Registry,
    };

    #[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
    struct Endpoint {
        endpoint: String,
    }

    #[derive(Clone, Debug, MetricGroup)]
    struct Metrics {
        /// Messages read from the WebSocket.
        ws_messages_total: Counter,
        /// Time to process one message.
        #[metric(buckets = [0.001, 0.01, 0.1, 1.0])]
        processing_seconds: Histogram,
        /// Calls to external APIs, by endpoint.
        #[metric(name = "api_requests_total", max_series = 200)]
        api: DynamicFamily<Endpoint, Counter>,
        #[metric(skip)]
        started: Option<std::time::Instant>,
    }

    pub fn run() -> Result<(), alerting_core::metrics::MetricsError> {
        let registry = Registry::new();
        let metrics: Metrics = registry.register_group()?;
        metrics.ws_messages_total.inc();
        metrics.processing_seconds.observe(0.01);
        metrics
            .api
            .get_or_create(&Endpoint {
                endpoint: "/".into(),
            })
            .inc();
        assert!(metrics.started.is_none());
        Ok(())
    }
}

fn main() {
    label_value::run();
    label_set::run();
    metric_group::run().unwrap();
}
