//! Writing the instrumented function.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{ItemFn, ReturnType, Type};

use super::args::{Args, BucketsArg, ExemplarArg};

/// The names the function's arguments bind (`self` included), for
/// `exemplar = …`.
fn argument_names(sig: &syn::Signature) -> Vec<String> {
    let mut names = Vec::new();
    for input in &sig.inputs {
        match input {
            syn::FnArg::Receiver(_) => names.push("self".to_owned()),
            syn::FnArg::Typed(typed) => {
                if let syn::Pat::Ident(pat) = &*typed.pat {
                    names.push(pat.ident.to_string());
                }
            }
        }
    }
    names
}

/// The expression the exemplar is read from, checked against the
/// function's arguments: a misnamed one is an error on the name.
fn exemplar_source(exemplar: &ExemplarArg, sig: &syn::Signature) -> syn::Result<TokenStream> {
    let names = argument_names(sig);
    let root = exemplar.root.to_string();
    if !names.contains(&root) {
        let known = if names.is_empty() {
            "it has none".to_owned()
        } else {
            format!("it has {}", names.join(", "))
        };
        return Err(syn::Error::new(
            exemplar.root.span(),
            format!(
                "`exemplar` names `{root}`, which is not an argument of `{}` ({known})",
                sig.ident
            ),
        ));
    }
    let root = &exemplar.root;
    let fields = &exemplar.fields;
    // Spanned on the name: a borrow error points at it.
    Ok(quote_spanned!(root.span()=> &#root #(.#fields)*))
}

/// Whether a return type can be written on a closure or async closure:
/// not with `impl Trait` (not allowed there) nor with elided lifetimes
/// (they would not mean the function's).
fn nameable(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = false;
        }
        fn visit_type_reference(&mut self, r: &'ast syn::TypeReference) {
            if r.lifetime.is_none() {
                self.0 = false;
            }
            syn::visit::visit_type_reference(self, r);
        }
        fn visit_lifetime(&mut self, l: &'ast syn::Lifetime) {
            if l.ident == "_" {
                self.0 = false;
            }
        }
        fn visit_type_infer(&mut self, _: &'ast syn::TypeInfer) {
            self.0 = false;
        }
    }
    let mut finder = Finder(true);
    finder.visit_type(ty);
    finder.0
}

pub(crate) fn expand(args: &Args, function: ItemFn) -> syn::Result<TokenStream> {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = function;
    if let Some(constness) = &sig.constness {
        return Err(syn::Error::new(
            constness.span(),
            "#[instrumented] cannot time a `const fn`: it reads the clock",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        return Err(syn::Error::new(
            variadic.span(),
            "#[instrumented] does not support variadic functions",
        ));
    }
    let krate = args
        .krate
        .as_ref()
        .map_or_else(|| quote!(::alerting_core), |p| quote!(#p));
    let private = quote!(#krate::__private);
    let is_async = sig.asyncness.is_some();

    let ident = &sig.ident;
    let function_name = match &args.function {
        Some(lit) => lit.value(),
        None => {
            let s = ident.to_string();
            s.strip_prefix("r#").unwrap_or(&s).to_owned()
        }
    };
    let calls = args
        .calls
        .as_ref()
        .map_or_else(|| quote!(#krate::instrument::DEFAULT_CALLS), |l| quote!(#l));
    let duration = args.duration.as_ref().map_or_else(
        || quote!(#krate::instrument::DEFAULT_DURATION),
        |l| quote!(#l),
    );
    let in_flight = match &args.in_flight {
        None => quote!(::core::option::Option::None),
        Some(None) => quote!(::core::option::Option::Some(#krate::instrument::DEFAULT_IN_FLIGHT)),
        Some(Some(lit)) => quote!(::core::option::Option::Some(#lit)),
    };
    let outcome_label = args.outcome_label.as_ref().map_or_else(
        || quote!(#krate::instrument::DEFAULT_OUTCOME_LABEL),
        |l| quote!(#l),
    );
    let labels = args
        .labels
        .iter()
        .map(|(name, value)| quote!((#name, #value)));
    let buckets = match &args.buckets {
        None => quote!(#private::SiteBuckets::Default),
        Some(BucketsArg::Preset(preset)) => {
            quote!(#private::SiteBuckets::Preset(#private::Buckets::#preset))
        }
        Some(BucketsArg::List(list)) => quote!(#private::SiteBuckets::List(&[#(#list),*])),
    };
    let help = args.help.as_ref().map_or_else(
        || quote!(::core::option::Option::None),
        |l| quote!(::core::option::Option::Some(#l)),
    );
    let registry = args.registry.as_ref().map_or_else(
        || quote!(#private::SiteRegistry::Global),
        |p| {
            let text = quote!(#p).to_string().replace(' ', "");
            quote!(#private::SiteRegistry::Custom { path: #text, get: #p })
        },
    );

    let ret_ty = match &sig.output {
        ReturnType::Type(_, ty) if nameable(ty) => Some(quote!(#ty)),
        ReturnType::Type(..) => None,
        ReturnType::Default => Some(quote!(())),
    };
    let closure_ret = ret_ty.as_ref().map(|ty| quote!(-> #ty));

    let span_name = function_name.clone();
    let (enter_span, instrument_future) = match &args.span {
        None => (quote!(), quote!()),
        Some(fields) => {
            let comma = if fields.is_empty() {
                quote!()
            } else {
                quote!(,)
            };
            let make = quote!(#private::tracing::info_span!(#span_name #comma #fields));
            if is_async {
                // Made before the body takes the arguments it may name.
                (
                    quote!(let __alerting_span = #make;),
                    quote!(.instrument(__alerting_span)),
                )
            } else {
                (
                    quote! {
                        let __alerting_span = #make;
                        let __alerting_entered = __alerting_span.enter();
                    },
                    quote!(),
                )
            }
        }
    };
    let instrument_import = if args.span.is_some() && is_async {
        quote!(use #private::tracing::Instrument as _;)
    } else {
        quote!()
    };

    let run = if is_async {
        quote! {
            (async move || #closure_ret #block)() #instrument_future .await
        }
    } else {
        // Through `call_once`, so the closure is `FnOnce`: a body returning
        // a reborrow of `&mut self` must be able to give it away.
        quote! {
            #private::call_once(move || #closure_ret #block)
        }
    };

    let split = quote!(__alerting_split.is_err());
    let is_error = match (&args.ok_if, &args.error_if) {
        (Some(ok_if), _) => quote_spanned!(ok_if.span()=> !(#ok_if)(&__alerting_ret)),
        (_, Some(error_if)) => {
            quote_spanned!(error_if.span()=> (#error_if)(&__alerting_ret) || #split)
        }
        _ => split,
    };

    let (capture, finish) = match &args.exemplar {
        None => (
            quote!(),
            quote!(__alerting_guard.finish(__alerting_classified);),
        ),
        Some(exemplar) => {
            let source = exemplar_source(exemplar, &sig)?;
            let label = &exemplar.label;
            (
                // Borrowed before the body runs (it may move the argument
                // out of reach), formatted only when the bucket takes it.
                quote!(let __alerting_exemplar = #source;),
                quote! {
                    __alerting_guard.finish_with_exemplar(
                        __alerting_classified, #label, __alerting_exemplar,
                    );
                },
            )
        }
    };

    let site = format_ident!("__ALERTING_SITE");
    let linked = format_ident!("__ALERTING_LINKED");
    let linkme = quote!(#private::linkme);
    Ok(quote! {
        #(#attrs)*
        #vis #sig {
            static #site: #private::CallSite = #private::CallSite::new(#private::SiteMeta {
                function: #function_name,
                module: ::core::module_path!(),
                calls: #calls,
                duration: #duration,
                in_flight: #in_flight,
                outcome_label: #outcome_label,
                labels: &[#(#labels),*],
                buckets: #buckets,
                help: #help,
                registry: #registry,
            });
            // Collected at link time: rules, dashboards and the registry
            // know the site before its first call.
            #[#private::distributed_slice(#private::CALL_SITES)]
            #[linkme(crate = #linkme)]
            static #linked: &#private::CallSite = &#site;
            #instrument_import
            let __alerting_guard = #site.start(#is_async);
            #capture
            #enter_span
            let __alerting_ret = #run;
            let __alerting_classified = {
                #[allow(unused_imports)]
                use #private::{KindFromTrait as _, KindNone as _, SplitOther as _, SplitResult as _};
                let __alerting_split = (&&#private::Returned(&__alerting_ret)).__alerting_split();
                let __alerting_kind = match __alerting_split {
                    ::core::result::Result::Err(__alerting_error) => {
                        (&&#private::Error(__alerting_error)).__alerting_kind()
                    }
                    ::core::result::Result::Ok(()) => ::core::option::Option::None,
                };
                #private::Classified::new(#is_error, __alerting_kind)
            };
            #finish
            __alerting_ret
        }
    })
}
