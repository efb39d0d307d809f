pub async fn handle(&self, batch_id: u32) -> Result<Response, Error> {
    static __ALERTING_SITE: my_alerting::__private::CallSite = my_alerting::__private::CallSite::new(my_alerting::__private::SiteMeta {
        function: "handle",
        module: ::core::module_path!(),
        calls: "bsc_ws_messages_total",
        duration: "bsc_ws_messages_processing_seconds",
        in_flight: ::core::option::Option::Some(
            my_alerting::instrument::DEFAULT_IN_FLIGHT,
        ),
        outcome_label: "result",
        labels: &[("event_type", "swap")],
        buckets: my_alerting::__private::SiteBuckets::List(&[0.005f64, 0.05f64, 0.5f64]),
        help: ::core::option::Option::None,
        registry: my_alerting::__private::SiteRegistry::Global,
    });
    #[my_alerting::__private::distributed_slice(my_alerting::__private::CALL_SITES)]
    #[linkme(crate = my_alerting::__private::linkme)]
    static __ALERTING_LINKED: &my_alerting::__private::CallSite = &__ALERTING_SITE;
    use my_alerting::__private::tracing::Instrument as _;
    let __alerting_guard = __ALERTING_SITE.start(true);
    let __alerting_span = my_alerting::__private::tracing::info_span!(
        "handle", batch = batch_id
    );
    let __alerting_ret = (async move || -> Result<Response, Error> {
        self.process(batch_id).await
    })()
        .instrument(__alerting_span)
        .await;
    let __alerting_classified = {
        #[allow(unused_imports)]
        use my_alerting::__private::{
            KindFromTrait as _, KindNone as _, SplitOther as _, SplitResult as _,
        };
        let __alerting_split = (&&my_alerting::__private::Returned(&__alerting_ret))
            .__alerting_split();
        let __alerting_kind = match __alerting_split {
            ::core::result::Result::Err(__alerting_error) => {
                (&&my_alerting::__private::Error(__alerting_error)).__alerting_kind()
            }
            ::core::result::Result::Ok(()) => ::core::option::Option::None,
        };
        my_alerting::__private::Classified::new(
            !(is_success)(&__alerting_ret),
            __alerting_kind,
        )
    };
    __alerting_guard.finish(__alerting_classified);
    __alerting_ret
}
