//! Code generation from the checked models of [`crate::ast`].
//!
//! Generated code names everything by absolute path (`::core::…`, the
//! crate path) and its own locals with `Span::mixed_site()`, so that it
//! means the same wherever it is expanded.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned;

use crate::ast::{Group, LabelSetStruct, LabelValueEnum};

pub(crate) fn label_value(input: &LabelValueEnum<'_>) -> TokenStream {
    let LabelValueEnum {
        krate,
        ident,
        variants,
    } = input;
    let idents: Vec<&Ident> = variants.iter().map(|v| v.ident).collect();
    let indices = (0..variants.len()).map(Literal::usize_unsuffixed);
    let texts = variants.iter().map(|v| &v.text);
    let prometheus_client = quote!(#krate::__private::prometheus_client);
    quote! {
        #[automatically_derived]
        #[allow(deprecated)]
        impl #krate::metrics::EnumLabel for #ident {
            const VALUES: &'static [Self] = &[#(Self::#idents),*];

            #[inline]
            fn index(self) -> usize {
                match self {
                    #(Self::#idents => #indices,)*
                }
            }

            #[inline]
            fn as_str(self) -> &'static str {
                match self {
                    #(Self::#idents => #texts,)*
                }
            }
        }

        #[automatically_derived]
        impl #prometheus_client::encoding::EncodeLabelValue for #ident {
            fn encode(
                &self,
                encoder: &mut #prometheus_client::encoding::LabelValueEncoder<'_>,
            ) -> ::core::result::Result<(), ::core::fmt::Error> {
                #krate::metrics::encode_label_str(
                    encoder,
                    #krate::metrics::EnumLabel::as_str(*self),
                )
            }
        }
    }
}

pub(crate) fn label_set(input: &LabelSetStruct<'_>) -> TokenStream {
    let LabelSetStruct {
        krate,
        ident,
        fields,
    } = input;
    let prometheus_client = quote!(#krate::__private::prometheus_client);
    let names: Vec<&String> = fields.iter().map(|f| &f.name).collect();
    let encoder = Ident::new("encoder", Span::mixed_site());
    let writes = fields.iter().map(|f| {
        let (member, name, ty) = (f.member, &f.name, f.ty);
        // The type named in the turbofish, and the call spanned on it:
        // "`X: EncodeLabelValue` is not satisfied" points at the field's type.
        let value = quote!(&self.#member);
        quote_spanned! {ty.span()=>
            #krate::metrics::encode_label::<#ty>(#encoder, #name, #value)?;
        }
    });
    let unused = fields.is_empty().then(|| quote!(let _ = #encoder;));
    let fixed = fixed_label_set(input);
    quote! {
        #[automatically_derived]
        impl #prometheus_client::encoding::EncodeLabelSet for #ident {
            fn encode(
                &self,
                #encoder: &mut #prometheus_client::encoding::LabelSetEncoder<'_>,
            ) -> ::core::result::Result<(), ::core::fmt::Error> {
                #unused
                #(#writes)*
                ::core::result::Result::Ok(())
            }
        }

        #[automatically_derived]
        impl #krate::metrics::LabelSet for #ident {
            const NAMES: &'static [&'static str] = &[#(#names),*];
        }

        #fixed
    }
}

/// `FixedLabelSet`, emitted for every label set and holding only when every
/// field is an `EnumLabel` and the struct is `Copy`.
///
/// The where clauses name concrete types, so a false one ("`String:
/// EnumLabel`") would be an error; under `for<'__l>` it is a higher-ranked
/// bound, which stable Rust accepts, and the impl then simply does not apply.
/// The compiler also skips generating the methods of such an impl, so the
/// const checks in `CARDINALITY` run only where the impl holds.
fn fixed_label_set(input: &LabelSetStruct<'_>) -> TokenStream {
    let LabelSetStruct {
        krate,
        ident,
        fields,
    } = input;
    let enum_label = quote!(#krate::metrics::EnumLabel);
    let tys: Vec<_> = fields.iter().map(|f| f.ty).collect();
    let members: Vec<_> = fields.iter().map(|f| f.member).collect();
    let index = Ident::new("index", Span::mixed_site());
    let cardinality = Ident::new("cardinality", Span::mixed_site());

    // Row-major: the first field is the most significant digit, so its
    // stride is the product of the cardinalities after it.
    let digits = (0..fields.len()).map(|i| match tys.get(i + 1..).unwrap_or_default() {
        [] => quote!(#index),
        after => quote!((#index / (1usize #(* <#after as #enum_label>::CARDINALITY)*))),
    });
    let from_index = if fields.is_empty() {
        quote! {
            let _ = #index;
            Self {}
        }
    } else {
        quote! {
            let #index = #index % <Self as #krate::metrics::FixedLabelSet>::CARDINALITY;
            Self {
                #(#members: <#tys as #enum_label>::VALUES
                    [#digits % <#tys as #enum_label>::CARDINALITY],)*
            }
        }
    };

    quote! {
        #[automatically_derived]
        impl #krate::metrics::FixedLabelSet for #ident
        where
            #(for<'__l> #tys: #enum_label,)*
            for<'__l> Self: ::core::marker::Copy,
        {
            // Evaluated at compile time: a failed check is a compile error,
            // never a run-time panic. Passing them guarantees that
            // `CARDINALITY > 0` and every `VALUES[i % CARDINALITY]` is in
            // bounds, so `from_index` cannot panic.
            const CARDINALITY: usize = {
                let #cardinality: usize = 1;
                #(
                    ::core::assert!(
                        <#tys as #enum_label>::CARDINALITY == <#tys as #enum_label>::VALUES.len()
                            && <#tys as #enum_label>::CARDINALITY > 0,
                        "a FixedLabelSet field's EnumLabel must have CARDINALITY == VALUES.len() > 0",
                    );
                    let #cardinality = match #cardinality.checked_mul(<#tys as #enum_label>::CARDINALITY) {
                        ::core::option::Option::Some(product) => product,
                        ::core::option::Option::None => ::core::panic!(
                            "the label set has more than usize::MAX combinations",
                        ),
                    };
                )*
                #cardinality
            };

            #[inline]
            fn index(&self) -> usize {
                0usize
                    #(.wrapping_mul(<#tys as #enum_label>::CARDINALITY)
                    .wrapping_add(#enum_label::index(self.#members)))*
            }

            // A field (or the whole set) with one value is `% 1`.
            #[allow(clippy::modulo_one)]
            fn from_index(#index: usize) -> Self {
                #from_index
            }
        }
    }
}

pub(crate) fn metric_group(input: &Group<'_>) -> TokenStream {
    let Group {
        krate,
        ident,
        fields,
    } = input;
    let registry = Ident::new("registry", Span::mixed_site());
    let options = Ident::new("options", Span::mixed_site());
    let error = Ident::new("error", Span::mixed_site());
    let locals: Vec<Ident> = (0..fields.len())
        .map(|i| format_ident!("field_{}", i, span = Span::mixed_site()))
        .collect();
    let members = fields.iter().map(|f| f.member);

    let registrations = fields.iter().zip(&locals).map(|(field, local)| {
        let ty = field.ty;
        let Some(metric) = &field.metric else {
            return quote_spanned! {ty.span()=>
                let #local: #ty = ::core::default::Default::default();
            };
        };
        let (name, help) = (&metric.name, &metric.help);
        let buckets = metric.buckets.as_ref().map(|buckets| {
            quote_spanned! {buckets.span()=>
                let #options = #options.buckets(
                    #krate::metrics::IntoBuckets::into_buckets(#buckets).map_err(|#error| {
                        #krate::metrics::MetricsError::for_metric(#error, &#registry.full_name(#name))
                    })?,
                );
            }
        });
        let max_series = metric.max_series.as_ref().map(|max_series| {
            quote_spanned! {max_series.span()=>
                let #options = #options.max_series(#max_series);
            }
        });
        let register = quote_spanned! {ty.span()=>
            #registry.register_with::<#ty>(#name, #help, #options)?
        };
        quote! {
            let #local = {
                let #options = #krate::metrics::MetricOptions::new();
                #buckets
                #max_series
                #register
            };
        }
    });
    let unused = fields
        .iter()
        .all(|f| f.metric.is_none())
        .then(|| quote!(let _ = #registry;));

    quote! {
        #[automatically_derived]
        impl #krate::metrics::MetricGroup for #ident {
            fn register(
                #registry: &#krate::metrics::Registry,
            ) -> ::core::result::Result<Self, #krate::metrics::MetricsError> {
                #unused
                #(#registrations)*
                ::core::result::Result::Ok(Self {
                    #(#members: #locals,)*
                })
            }
        }
    }
}
