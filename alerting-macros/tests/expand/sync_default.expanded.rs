fn parse(input: &str) -> Result<u32, ParseError> {
    static __ALERTING_SITE: ::alerting_core::__private::CallSite = ::alerting_core::__private::CallSite::new(::alerting_core::__private::SiteMeta {
        function: "parse",
        module: ::core::module_path!(),
        calls: ::alerting_core::instrument::DEFAULT_CALLS,
        duration: ::alerting_core::instrument::DEFAULT_DURATION,
        in_flight: ::core::option::Option::None,
        outcome_label: ::alerting_core::instrument::DEFAULT_OUTCOME_LABEL,
        labels: &[],
        buckets: ::alerting_core::__private::SiteBuckets::Default,
        help: ::core::option::Option::None,
        registry: ::alerting_core::__private::SiteRegistry::Global,
    });
    #[::alerting_core::__private::distributed_slice(
        ::alerting_core::__private::CALL_SITES
    )]
    #[linkme(crate = ::alerting_core::__private::linkme)]
    static __ALERTING_LINKED: &::alerting_core::__private::CallSite = &__ALERTING_SITE;
    let __alerting_guard = __ALERTING_SITE.start(false);
    let __alerting_ret = ::alerting_core::__private::call_once(move || -> Result<
        u32,
        ParseError,
    > {
        let n = input.parse().map_err(|_| ParseError)?;
        Ok(n)
    });
    let __alerting_classified = {
        #[allow(unused_imports)]
        use ::alerting_core::__private::{
            KindFromTrait as _, KindNone as _, SplitOther as _, SplitResult as _,
        };
        let __alerting_split = (&&::alerting_core::__private::Returned(&__alerting_ret))
            .__alerting_split();
        let __alerting_kind = match __alerting_split {
            ::core::result::Result::Err(__alerting_error) => {
                (&&::alerting_core::__private::Error(__alerting_error)).__alerting_kind()
            }
            ::core::result::Result::Ok(()) => ::core::option::Option::None,
        };
        ::alerting_core::__private::Classified::new(
            __alerting_split.is_err(),
            __alerting_kind,
        )
    };
    __alerting_guard.finish(__alerting_classified);
    __alerting_ret
}
