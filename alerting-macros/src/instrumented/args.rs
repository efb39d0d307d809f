//! Parsing `#[instrumented(…)]`.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprArray, ExprLit, ExprUnary, Ident, Lit, LitStr, Path, Token, UnOp};

use crate::case::{label_name_problem, metric_name_problem};

/// Histogram buckets as written.
pub(crate) enum BucketsArg {
    Preset(Ident),
    List(Vec<f64>),
}

/// `exemplar = arg` or `exemplar(label = arg.field…)`: the label and the
/// argument (or a field path into one) whose `Display` is its value.
pub(crate) struct ExemplarArg {
    /// The exemplar's label name.
    pub(crate) label: String,
    /// The argument the path starts at (`self` included).
    pub(crate) root: Ident,
    /// Field names after the argument.
    pub(crate) fields: Vec<syn::Member>,
}

/// The attribute's arguments, checked.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) calls: Option<LitStr>,
    pub(crate) duration: Option<LitStr>,
    /// `Some(None)`: on, default name.
    pub(crate) in_flight: Option<Option<LitStr>>,
    pub(crate) labels: Vec<(String, LitStr)>,
    pub(crate) outcome_label: Option<LitStr>,
    pub(crate) function: Option<LitStr>,
    pub(crate) help: Option<LitStr>,
    pub(crate) buckets: Option<BucketsArg>,
    /// `Some(fields)`: a span, with these extra fields.
    pub(crate) span: Option<TokenStream>,
    pub(crate) ok_if: Option<Path>,
    pub(crate) error_if: Option<Path>,
    pub(crate) registry: Option<Path>,
    pub(crate) krate: Option<Path>,
    pub(crate) exemplar: Option<ExemplarArg>,
}

const KEYS: &str = "calls, duration, in_flight, labels, outcome_label, function, help, buckets, span, ok_if, error_if, registry, exemplar, crate";

/// Label names the expansion writes itself.
const BUILT_IN_LABELS: &[&str] = &["function", "module", "error_kind"];

const PRESETS: &[&str] = &["latency", "fast_latency", "sizes"];

fn set<T>(slot: &mut Option<T>, value: T, key: &Ident) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            key.span(),
            format!("`{key}` is given twice"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

fn metric_name(input: ParseStream<'_>, suffix: &str, kind: &str) -> syn::Result<LitStr> {
    let lit: LitStr = input.parse()?;
    let name = lit.value();
    if let Some(problem) = metric_name_problem(&name) {
        return Err(syn::Error::new(lit.span(), problem));
    }
    if name.is_empty() || !name.as_bytes()[0].is_ascii_lowercase() {
        return Err(syn::Error::new(
            lit.span(),
            format!("`{name}` must start with a lowercase letter"),
        ));
    }
    if !suffix.is_empty() && !name.ends_with(suffix) {
        return Err(syn::Error::new(
            lit.span(),
            format!("the {kind} `{name}` must end in `{suffix}`"),
        ));
    }
    if suffix.is_empty() && name.ends_with("_total") {
        return Err(syn::Error::new(
            lit.span(),
            format!("the {kind} `{name}` must not end in `_total`: only counters do"),
        ));
    }
    Ok(lit)
}

fn number(expr: &Expr) -> syn::Result<f64> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Float(f), ..
        }) => f.base10_parse(),
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse::<i64>().map(|i| i as f64),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => number(expr).map(|n| -n),
        other => Err(syn::Error::new_spanned(
            other,
            "a bucket bound must be a number literal",
        )),
    }
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args::default();
        while !input.is_empty() {
            let key: Ident = if input.peek(Token![crate]) {
                let token: Token![crate] = input.parse()?;
                Ident::new("crate", token.span)
            } else {
                input.parse()?
            };
            match key.to_string().as_str() {
                "calls" => {
                    input.parse::<Token![=]>()?;
                    let v = metric_name(input, "_total", "call counter")?;
                    set(&mut args.calls, v, &key)?;
                }
                "duration" => {
                    input.parse::<Token![=]>()?;
                    let v = metric_name(input, "_seconds", "duration histogram")?;
                    set(&mut args.duration, v, &key)?;
                }
                "in_flight" => {
                    let v = if input.peek(Token![=]) {
                        input.parse::<Token![=]>()?;
                        Some(metric_name(input, "", "in-flight gauge")?)
                    } else {
                        None
                    };
                    set(&mut args.in_flight, v, &key)?;
                }
                "labels" => {
                    if !args.labels.is_empty() {
                        return Err(syn::Error::new(key.span(), "`labels` is given twice"));
                    }
                    let content;
                    syn::parenthesized!(content in input);
                    let pairs = Punctuated::<LabelPair, Token![,]>::parse_terminated(&content)?;
                    if pairs.is_empty() {
                        return Err(syn::Error::new(
                            key.span(),
                            "`labels(…)` needs at least one `name = \"value\"`",
                        ));
                    }
                    for pair in pairs {
                        let name = pair.name.to_string();
                        let name = name.strip_prefix("r#").unwrap_or(&name).to_owned();
                        if let Some(problem) = label_name_problem(&name) {
                            return Err(syn::Error::new(pair.name.span(), problem));
                        }
                        if BUILT_IN_LABELS.contains(&name.as_str()) {
                            return Err(syn::Error::new(
                                pair.name.span(),
                                format!("label `{name}` is written by #[instrumented] itself"),
                            ));
                        }
                        if args.labels.iter().any(|(n, _)| *n == name) {
                            return Err(syn::Error::new(
                                pair.name.span(),
                                format!("label `{name}` is given twice"),
                            ));
                        }
                        args.labels.push((name, pair.value));
                    }
                }
                "outcome_label" => {
                    input.parse::<Token![=]>()?;
                    let lit: LitStr = input.parse()?;
                    let name = lit.value();
                    if let Some(problem) = label_name_problem(&name) {
                        return Err(syn::Error::new(lit.span(), problem));
                    }
                    if BUILT_IN_LABELS.contains(&name.as_str()) {
                        return Err(syn::Error::new(
                            lit.span(),
                            format!("label `{name}` is written by #[instrumented] itself"),
                        ));
                    }
                    set(&mut args.outcome_label, lit, &key)?;
                }
                "function" => {
                    input.parse::<Token![=]>()?;
                    let lit: LitStr = input.parse()?;
                    if lit.value().is_empty() {
                        return Err(syn::Error::new(lit.span(), "`function` must not be empty"));
                    }
                    set(&mut args.function, lit, &key)?;
                }
                "help" => {
                    input.parse::<Token![=]>()?;
                    let lit: LitStr = input.parse()?;
                    if lit.value().trim().is_empty() {
                        return Err(syn::Error::new(lit.span(), "`help` must not be empty"));
                    }
                    set(&mut args.help, lit, &key)?;
                }
                "buckets" => {
                    input.parse::<Token![=]>()?;
                    let value = if input.peek(syn::token::Bracket) {
                        let array: ExprArray = input.parse()?;
                        if array.elems.is_empty() {
                            return Err(syn::Error::new_spanned(
                                &array,
                                "`buckets` needs at least one bound",
                            ));
                        }
                        let mut bounds = Vec::new();
                        for elem in &array.elems {
                            let n = number(elem)?;
                            if !n.is_finite() {
                                return Err(syn::Error::new_spanned(
                                    elem,
                                    "bucket bounds must be finite (+Inf is implicit)",
                                ));
                            }
                            if bounds.last().is_some_and(|&last| n <= last) {
                                return Err(syn::Error::new_spanned(
                                    elem,
                                    "bucket bounds must be strictly increasing",
                                ));
                            }
                            bounds.push(n);
                        }
                        BucketsArg::List(bounds)
                    } else {
                        let preset: Ident = input.parse()?;
                        if !PRESETS.contains(&preset.to_string().as_str()) {
                            return Err(syn::Error::new(
                                preset.span(),
                                format!(
                                    "unknown bucket preset `{preset}`: use latency, fast_latency, sizes, or a list like [0.01, 0.1, 1.0]"
                                ),
                            ));
                        }
                        BucketsArg::Preset(preset)
                    };
                    set(&mut args.buckets, value, &key)?;
                }
                "span" => {
                    let fields = if input.peek(syn::token::Paren) {
                        let content;
                        syn::parenthesized!(content in input);
                        let inner: Ident = content.parse()?;
                        if inner != "fields" {
                            return Err(syn::Error::new(
                                inner.span(),
                                "expected `fields(…)` inside `span(…)`",
                            ));
                        }
                        let fields;
                        syn::parenthesized!(fields in content);
                        let tokens: TokenStream = fields.parse()?;
                        if !content.is_empty() {
                            return Err(content.error("unexpected tokens after `fields(…)`"));
                        }
                        tokens
                    } else {
                        TokenStream::new()
                    };
                    set(&mut args.span, fields, &key)?;
                }
                "ok_if" | "error_if" => {
                    input.parse::<Token![=]>()?;
                    let path: Path = input.parse()?;
                    let (this, other) = if key == "ok_if" {
                        (&mut args.ok_if, args.error_if.is_some())
                    } else {
                        (&mut args.error_if, args.ok_if.is_some())
                    };
                    if other {
                        return Err(syn::Error::new(
                            key.span(),
                            "give `ok_if` or `error_if`, not both",
                        ));
                    }
                    set(this, path, &key)?;
                }
                "exemplar" => {
                    let value = if input.peek(Token![=]) {
                        input.parse::<Token![=]>()?;
                        let root: Ident = input.parse()?;
                        let label = root.to_string();
                        let label = label.strip_prefix("r#").unwrap_or(&label).to_owned();
                        if let Some(problem) = label_name_problem(&label) {
                            return Err(syn::Error::new(root.span(), problem));
                        }
                        ExemplarArg {
                            label,
                            root,
                            fields: Vec::new(),
                        }
                    } else if input.peek(syn::token::Paren) {
                        let content;
                        syn::parenthesized!(content in input);
                        let name: Ident = syn::ext::IdentExt::parse_any(&content)?;
                        let label = name.to_string();
                        let label = label.strip_prefix("r#").unwrap_or(&label).to_owned();
                        if let Some(problem) = label_name_problem(&label) {
                            return Err(syn::Error::new(name.span(), problem));
                        }
                        content.parse::<Token![=]>()?;
                        let root = if content.peek(Token![self]) {
                            let token: Token![self] = content.parse()?;
                            Ident::new("self", token.span)
                        } else {
                            content.parse()?
                        };
                        let mut fields = Vec::new();
                        while content.peek(Token![.]) {
                            content.parse::<Token![.]>()?;
                            fields.push(content.parse::<syn::Member>()?);
                        }
                        if !content.is_empty() {
                            return Err(content
                                .error("expected `label = argument` or `label = argument.field`"));
                        }
                        ExemplarArg {
                            label,
                            root,
                            fields,
                        }
                    } else {
                        return Err(syn::Error::new(
                            key.span(),
                            "expected `exemplar = argument` or `exemplar(label = argument.field)`",
                        ));
                    };
                    if args.exemplar.is_some() {
                        return Err(syn::Error::new(key.span(), "`exemplar` is given twice"));
                    }
                    args.exemplar = Some(value);
                }
                "registry" => {
                    input.parse::<Token![=]>()?;
                    let path: Path = input.parse()?;
                    set(&mut args.registry, path, &key)?;
                }
                "crate" => {
                    input.parse::<Token![=]>()?;
                    let path: Path = if input.peek(LitStr) {
                        let lit: LitStr = input.parse()?;
                        lit.parse()?
                    } else {
                        input.parse()?
                    };
                    set(&mut args.krate, path, &key)?;
                }
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!(
                            "unknown #[instrumented] option `{other}`; expected one of: {KEYS}"
                        ),
                    ));
                }
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(args)
    }
}

struct LabelPair {
    name: Ident,
    value: LitStr,
}

impl Parse for LabelPair {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        // Keywords are fine label names (`type = "swap"`).
        let name = syn::ext::IdentExt::parse_any(input)?;
        input.parse::<Token![=]>()?;
        let value: LitStr = input.parse()?;
        if value.value().is_empty() {
            return Err(syn::Error::new(
                value.span(),
                "a label value must not be empty (Prometheus treats an empty value as no label)",
            ));
        }
        Ok(Self { name, value })
    }
}
