//! Parsing of the `#[label(…)]` and `#[metric(…)]` attributes.
//!
//! Every mistake is a `syn::Error` spanned on the offending token: the key for
//! an unknown or repeated key, the value for a value of the wrong kind.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Expr, ExprLit, Lit, LitStr, Path};

/// Collects errors so that one expansion reports every mistake at once.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(first) => first.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Keeps the value of `result`, or records its error.
    pub(crate) fn check<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|e| self.push(e)).ok()
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Where an attribute sits, and which keys it takes there.
pub(crate) struct Place {
    /// `label` or `metric`.
    pub(crate) attr: &'static str,
    /// What it is on, with its article: `the enum`, `a variant`…
    pub(crate) on: &'static str,
    /// Keys accepted here.
    pub(crate) keys: &'static [&'static str],
    /// Keys that belong on another item, with that item: a better message
    /// than "unknown key" for `crate` on a field.
    pub(crate) elsewhere: &'static [(&'static str, &'static str)],
}

/// Calls `on_key` for each key of each `#[<place.attr>(…)]` in `attrs`,
/// after refusing unknown and repeated keys.
fn for_each_key(
    attrs: &[Attribute],
    place: &Place,
    mut on_key: impl FnMut(&'static str, &ParseNestedMeta<'_>) -> syn::Result<()>,
) -> syn::Result<()> {
    let mut seen: Vec<&'static str> = Vec::new();
    let mut errors = Errors::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident(place.attr)) {
        let parsed = attr.parse_nested_meta(|meta| {
            let Some(key) = place.keys.iter().copied().find(|k| meta.path.is_ident(k)) else {
                return Err(unknown_key(place, &meta.path));
            };
            if seen.contains(&key) {
                return Err(syn::Error::new_spanned(
                    &meta.path,
                    format!("duplicate key `{key}` in `#[{}(…)]`", place.attr),
                ));
            }
            seen.push(key);
            on_key(key, &meta)
        });
        errors.check(parsed);
    }
    errors.finish()
}

fn unknown_key(place: &Place, path: &Path) -> syn::Error {
    let key = path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::");
    if let Some((_, there)) = place.elsewhere.iter().find(|(k, _)| *k == key) {
        return syn::Error::new_spanned(
            path,
            format!("`{key}` goes on {there}, not on {}", place.on),
        );
    }
    let expected = place
        .keys
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    syn::Error::new_spanned(
        path,
        format!(
            "unknown key `{key}` in `#[{}(…)]` on {}; expected {expected}",
            place.attr, place.on
        ),
    )
}

/// The value of `key = "…"`.
fn lit_str(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<LitStr> {
    let value: Expr = meta.value()?.parse()?;
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` takes a string literal: `{key} = \"…\"`"),
        )),
    }
}

/// The value of `key = <expression>`.
fn expr(meta: &ParseNestedMeta<'_>) -> syn::Result<Expr> {
    meta.value()?.parse()
}

/// A string value that must not be blank.
fn non_empty(lit: LitStr, key: &str) -> syn::Result<LitStr> {
    if lit.value().trim().is_empty() {
        Err(syn::Error::new(
            lit.span(),
            format!("`{key}` must not be empty"),
        ))
    } else {
        Ok(lit)
    }
}

/// The path the generated code reaches alerting-core by: `::alerting_core`
/// or the `crate = "…"` given on the type.
pub(crate) fn crate_path(attrs: &[Attribute], place: &Place) -> syn::Result<TokenStream> {
    let mut path = None;
    for_each_key(attrs, place, |_crate, meta| {
        let lit = lit_str(meta, "crate")?;
        let parsed = lit.parse_with(Path::parse_mod_style).map_err(|_| {
            syn::Error::new(
                lit.span(),
                "`crate` takes a path to alerting_core, like `crate = \"my_crate::alerting_core\"`",
            )
        })?;
        path = Some(parsed);
        Ok(())
    })?;
    Ok(path.map_or_else(|| quote!(::alerting_core), |p| p.to_token_stream()))
}

/// `#[label(rename = "…")]` on a variant or a field.
pub(crate) fn rename(attrs: &[Attribute], place: &Place) -> syn::Result<Option<LitStr>> {
    let mut rename = None;
    for_each_key(attrs, place, |_rename, meta| {
        rename = Some(non_empty(lit_str(meta, "rename")?, "rename")?);
        Ok(())
    })?;
    Ok(rename)
}

/// The keys of `#[metric(…)]` on a field.
#[derive(Default)]
pub(crate) struct MetricAttrs {
    pub(crate) name: Option<LitStr>,
    pub(crate) help: Option<LitStr>,
    pub(crate) buckets: Option<Expr>,
    pub(crate) max_series: Option<Expr>,
    pub(crate) skip: bool,
}

/// Keys of `#[metric(…)]` on a field.
pub(crate) const METRIC_FIELD_KEYS: &[&str] = &["name", "help", "buckets", "max_series", "skip"];

pub(crate) fn metric(attrs: &[Attribute], place: &Place) -> syn::Result<MetricAttrs> {
    let mut out = MetricAttrs::default();
    // Keys given besides `skip`, which has no use for them.
    let mut others: Vec<(&'static str, Path)> = Vec::new();
    for_each_key(attrs, place, |key, meta| {
        if key == "skip" {
            if !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
                return Err(meta.error("`skip` takes no value: `#[metric(skip)]`"));
            }
            out.skip = true;
            return Ok(());
        }
        match key {
            "name" => out.name = Some(non_empty(lit_str(meta, key)?, key)?),
            "help" => out.help = Some(non_empty(lit_str(meta, key)?, key)?),
            "buckets" => out.buckets = Some(expr(meta)?),
            "max_series" => out.max_series = Some(expr(meta)?),
            // `for_each_key` passes only the keys of `METRIC_FIELD_KEYS`.
            _ => {}
        }
        others.push((key, meta.path.clone()));
        Ok(())
    })?;
    if out.skip {
        let mut errors = Errors::default();
        for (key, path) in others {
            errors.push(syn::Error::new_spanned(
                path,
                format!(
                    "`{key}` cannot be combined with `skip`: a skipped field is not registered"
                ),
            ));
        }
        errors.finish()?;
    }
    Ok(out)
}
