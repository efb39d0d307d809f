//! Per-route series, resolved once per route and kept.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use alerting_core::metrics::{
    Buckets, DynamicFamily, Gauge, MetricOptions, OVERFLOW_LABEL_VALUE, Registry, StripedCounter,
    StripedHistogram, http,
};

use super::labels::{HttpMethod, RequestLabels, RouteLabels, StatusClass};
use super::{HttpMetricsBuilder, HttpMetricsError, RouteFn, UNMATCHED_ROUTE};
use axum::http::Uri;

/// The families, and the settings that apply to every route.
pub(crate) struct Families {
    requests: DynamicFamily<RequestLabels, StripedCounter>,
    durations: DynamicFamily<RouteLabels, StripedHistogram>,
    in_flight: Gauge,
    sizes: Option<(
        DynamicFamily<RouteLabels, StripedHistogram>,
        DynamicFamily<RouteLabels, StripedHistogram>,
    )>,
    count_scrapes: bool,
    to_body_end: bool,
}

impl Families {
    pub(crate) fn in_flight(&self) -> &Gauge {
        &self.in_flight
    }

    /// Durations end at the end of the response body, not its head.
    pub(crate) fn to_body_end(&self) -> bool {
        self.to_body_end
    }
}

/// Every route seen so far, by template.
pub(crate) struct Routes {
    families: Arc<Families>,
    ignored: Vec<String>,
    max_routes: usize,
    route_fn: Option<RouteFn>,
    map: RwLock<HashMap<Box<str>, Arc<RouteEntry>>>,
    overflow: Arc<RouteEntry>,
}

impl fmt::Debug for Routes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpMetrics")
            .field(
                "routes",
                &self
                    .map
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .len(),
            )
            .field("max_routes", &self.max_routes)
            .field("body_sizes", &self.families.sizes.is_some())
            .field("count_scrapes", &self.families.count_scrapes)
            .finish_non_exhaustive()
    }
}

impl Routes {
    pub(crate) fn register(
        registry: &Registry,
        options: HttpMetricsBuilder,
    ) -> Result<Self, HttpMetricsError> {
        // Every (route, method, status) of at most `max_routes` routes, the
        // overflow and the unmatched route: the route limit is the only one
        // that folds.
        let routes = options.max_routes.saturating_add(2);
        let per_route = |n: usize| MetricOptions::new().max_series(routes.saturating_mul(n));
        let requests = registry.register_with(
            http::REQUESTS,
            "HTTP requests answered, by method, route template and status class",
            per_route(HttpMethod::COUNT * StatusClass::COUNT),
        )?;
        let mut duration_options = per_route(HttpMethod::COUNT);
        if let Some(buckets) = options.buckets {
            duration_options = duration_options.buckets(buckets);
        }
        let durations = registry.register_with(
            http::DURATION,
            "Time from receiving an HTTP request to the end of its response, by method and route template",
            duration_options,
        )?;
        let in_flight = registry.register(http::IN_FLIGHT, "HTTP requests being handled now")?;
        let sizes = if options.body_sizes {
            let sized = || per_route(HttpMethod::COUNT).buckets(Buckets::sizes());
            Some((
                registry.register_with(
                    http::REQUEST_SIZE,
                    "Size of HTTP request bodies, by method and route template",
                    sized(),
                )?,
                registry.register_with(
                    http::RESPONSE_SIZE,
                    "Size of HTTP response bodies, by method and route template",
                    sized(),
                )?,
            ))
        } else {
            None
        };
        let families = Arc::new(Families {
            requests,
            durations,
            in_flight,
            sizes,
            count_scrapes: options.count_scrapes,
            to_body_end: options.to_body_end,
        });
        let overflow = Arc::new(RouteEntry::new(
            OVERFLOW_LABEL_VALUE,
            false,
            Arc::clone(&families),
        ));
        Ok(Self {
            families,
            ignored: options.ignored,
            max_routes: options.max_routes,
            route_fn: options.route_fn,
            map: RwLock::new(HashMap::new()),
            overflow,
        })
    }

    /// The template of a request axum did not route, from the
    /// application's function.
    pub(crate) fn route_of(&self, uri: &Uri) -> Option<&'static str> {
        self.route_fn.and_then(|f| f(uri))
    }

    pub(crate) fn in_flight(&self) -> &Gauge {
        self.families.in_flight()
    }

    pub(crate) fn body_sizes(&self) -> bool {
        self.families.sizes.is_some()
    }

    pub(crate) fn families(&self) -> &Families {
        &self.families
    }

    /// The entry of `route`, created on first sight.
    pub(crate) fn get(&self, route: &str) -> Arc<RouteEntry> {
        if let Some(entry) = self
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(route)
        {
            return Arc::clone(entry);
        }
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = map.get(route) {
            return Arc::clone(entry);
        }
        // `unmatched` always gets its entry; it does not use up the limit.
        let named = map.len() - usize::from(map.contains_key(UNMATCHED_ROUTE));
        if route != UNMATCHED_ROUTE && named >= self.max_routes {
            return Arc::clone(&self.overflow);
        }
        let ignored = self.ignored.iter().any(|r| r == route);
        let entry = Arc::new(RouteEntry::new(route, ignored, Arc::clone(&self.families)));
        map.insert(route.into(), Arc::clone(&entry));
        entry
    }
}

/// The series of one route template. Series are created on first use, so
/// a route shows only the methods and classes it has answered.
pub(crate) struct RouteEntry {
    route: Box<str>,
    /// An ignored route, or the scrape endpoint: not recorded.
    skip: AtomicBool,
    families: Arc<Families>,
    /// `[method][status]`.
    requests: Box<[OnceLock<StripedCounter>]>,
    /// `[method]`.
    durations: Box<[OnceLock<StripedHistogram>]>,
    request_sizes: Box<[OnceLock<StripedHistogram>]>,
    response_sizes: Box<[OnceLock<StripedHistogram>]>,
}

fn slots<T>(n: usize) -> Box<[OnceLock<T>]> {
    (0..n).map(|_| OnceLock::new()).collect()
}

impl RouteEntry {
    fn new(route: &str, ignored: bool, families: Arc<Families>) -> Self {
        let sized = if families.sizes.is_some() {
            HttpMethod::COUNT
        } else {
            0
        };
        Self {
            route: route.into(),
            skip: AtomicBool::new(ignored),
            families,
            requests: slots(HttpMethod::COUNT * StatusClass::COUNT),
            durations: slots(HttpMethod::COUNT),
            request_sizes: slots(sized),
            response_sizes: slots(sized),
        }
    }

    pub(crate) fn route(&self) -> &str {
        &self.route
    }

    /// The settings and gauge shared by every route.
    pub(crate) fn routes(&self) -> &Families {
        &self.families
    }

    pub(crate) fn skipped(&self) -> bool {
        self.skip.load(Ordering::Relaxed)
    }

    /// A scrape of our endpoint went through this route: stop recording it.
    pub(crate) fn scrape_seen(&self) -> bool {
        if self.families.count_scrapes {
            return false;
        }
        self.skip.store(true, Ordering::Relaxed);
        true
    }

    fn route_labels(&self, method: HttpMethod) -> RouteLabels {
        RouteLabels {
            method,
            route: self.route.to_string(),
        }
    }

    pub(crate) fn request(
        &self,
        method: HttpMethod,
        status: StatusClass,
    ) -> Option<&StripedCounter> {
        let slot = self
            .requests
            .get(method.index() * StatusClass::COUNT + status.index())?;
        Some(slot.get_or_init(|| {
            self.families.requests.get_or_create(&RequestLabels {
                method,
                route: self.route.to_string(),
                status,
            })
        }))
    }

    pub(crate) fn duration(&self, method: HttpMethod) -> Option<&StripedHistogram> {
        let slot = self.durations.get(method.index())?;
        Some(slot.get_or_init(|| {
            self.families
                .durations
                .get_or_create(&self.route_labels(method))
        }))
    }

    pub(crate) fn request_size(&self, method: HttpMethod) -> Option<&StripedHistogram> {
        let (family, _) = self.families.sizes.as_ref()?;
        let slot = self.request_sizes.get(method.index())?;
        Some(slot.get_or_init(|| family.get_or_create(&self.route_labels(method))))
    }

    pub(crate) fn response_size(&self, method: HttpMethod) -> Option<&StripedHistogram> {
        let (_, family) = self.families.sizes.as_ref()?;
        let slot = self.response_sizes.get(method.index())?;
        Some(slot.get_or_init(|| family.get_or_create(&self.route_labels(method))))
    }
}

impl fmt::Debug for RouteEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteEntry")
            .field("route", &self.route)
            .field("skipped", &self.skipped())
            .finish_non_exhaustive()
    }
}
