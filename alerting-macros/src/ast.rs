//! What the derives accept: the input checked and turned into a model that
//! [`crate::expand`] writes code from. Every refusal is a spanned error.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Expr, Fields, FieldsNamed, Ident, Lit, Meta, Type};

use crate::attr::{self, Errors, METRIC_FIELD_KEYS, Place};
use crate::case::{label_name_problem, metric_name_problem, snake_case};

/// A fieldless enum deriving `LabelValue`.
pub(crate) struct LabelValueEnum<'a> {
    pub(crate) krate: TokenStream,
    pub(crate) ident: &'a Ident,
    pub(crate) variants: Vec<ValueVariant<'a>>,
}

pub(crate) struct ValueVariant<'a> {
    pub(crate) ident: &'a Ident,
    /// The label value written.
    pub(crate) text: String,
}

/// A struct deriving `LabelSet`.
pub(crate) struct LabelSetStruct<'a> {
    pub(crate) krate: TokenStream,
    pub(crate) ident: &'a Ident,
    pub(crate) fields: Vec<LabelField<'a>>,
}

pub(crate) struct LabelField<'a> {
    pub(crate) member: &'a Ident,
    pub(crate) ty: &'a Type,
    /// The label name.
    pub(crate) name: String,
}

/// A struct deriving `MetricGroup`.
pub(crate) struct Group<'a> {
    pub(crate) krate: TokenStream,
    pub(crate) ident: &'a Ident,
    pub(crate) fields: Vec<GroupField<'a>>,
}

pub(crate) struct GroupField<'a> {
    pub(crate) member: &'a Ident,
    pub(crate) ty: &'a Type,
    /// `None` for `#[metric(skip)]`.
    pub(crate) metric: Option<MetricField>,
}

pub(crate) struct MetricField {
    pub(crate) name: String,
    pub(crate) help: String,
    pub(crate) buckets: Option<Expr>,
    pub(crate) max_series: Option<Expr>,
}

const VALUE_ENUM: Place = Place {
    attr: "label",
    on: "the enum",
    keys: &["crate"],
    elsewhere: &[("rename", "a variant")],
};
const VALUE_VARIANT: Place = Place {
    attr: "label",
    on: "a variant",
    keys: &["rename"],
    elsewhere: &[("crate", "the enum")],
};
const SET_STRUCT: Place = Place {
    attr: "label",
    on: "the struct",
    keys: &["crate"],
    elsewhere: &[("rename", "a field")],
};
const SET_FIELD: Place = Place {
    attr: "label",
    on: "a field",
    keys: &["rename"],
    elsewhere: &[("crate", "the struct")],
};
const GROUP_STRUCT: Place = Place {
    attr: "metric",
    on: "the struct",
    keys: &["crate"],
    elsewhere: &[
        ("name", "a field"),
        ("help", "a field"),
        ("buckets", "a field"),
        ("max_series", "a field"),
        ("skip", "a field"),
    ],
};
const GROUP_FIELD: Place = Place {
    attr: "metric",
    on: "a field",
    keys: METRIC_FIELD_KEYS,
    elsewhere: &[("crate", "the struct")],
};

impl<'a> LabelValueEnum<'a> {
    pub(crate) fn from_input(input: &'a DeriveInput) -> syn::Result<Self> {
        let data = match &input.data {
            Data::Enum(data) => data,
            Data::Struct(s) => return Err(not_enum(s.struct_token.span)),
            Data::Union(u) => return Err(not_enum(u.union_token.span)),
        };
        let mut errors = Errors::default();
        errors.check(no_generics(input, "LabelValue", "a label value"));
        let krate = errors.check(attr::crate_path(&input.attrs, &VALUE_ENUM));
        if data.variants.is_empty() {
            errors.push(syn::Error::new(
                input.ident.span(),
                format!(
                    "`{}` has no variants: a `LabelValue` enum needs at least one value",
                    input.ident
                ),
            ));
        }
        let mut variants: Vec<ValueVariant<'a>> = Vec::new();
        for variant in &data.variants {
            if !matches!(variant.fields, Fields::Unit) {
                errors.push(syn::Error::new_spanned(
                    &variant.fields,
                    format!(
                        "`{}` has fields: a `LabelValue` enum has fieldless variants only",
                        variant.ident
                    ),
                ));
            }
            let Some(rename) = errors.check(attr::rename(&variant.attrs, &VALUE_VARIANT)) else {
                continue;
            };
            let (text, span) = match &rename {
                Some(lit) => (lit.value(), lit.span()),
                None => (
                    snake_case(&variant.ident.unraw().to_string()),
                    variant.ident.span(),
                ),
            };
            if let Some(first) = variants.iter().find(|v| v.text == text) {
                errors.push(syn::Error::new(
                    span,
                    format!(
                        "`{}` and `{}` both have the label value \"{text}\"; rename one with `#[label(rename = \"…\")]`",
                        first.ident, variant.ident
                    ),
                ));
            }
            variants.push(ValueVariant {
                ident: &variant.ident,
                text,
            });
        }
        errors.finish()?;
        Ok(Self {
            krate: krate.unwrap_or_default(),
            ident: &input.ident,
            variants,
        })
    }
}

fn not_enum(span: Span) -> syn::Error {
    syn::Error::new(
        span,
        "`LabelValue` can only be derived for a fieldless enum; for a struct of labels, derive `LabelSet`",
    )
}

impl<'a> LabelSetStruct<'a> {
    pub(crate) fn from_input(input: &'a DeriveInput) -> syn::Result<Self> {
        let fields = named_fields(
            input,
            "LabelSet",
            "a struct with named fields, one per label",
        )?;
        let mut errors = Errors::default();
        errors.check(no_generics(input, "LabelSet", "a label set"));
        let krate = errors.check(attr::crate_path(&input.attrs, &SET_STRUCT));
        let mut labels: Vec<LabelField<'a>> = Vec::new();
        for field in &fields.named {
            let Some(member) = &field.ident else { continue };
            let Some(rename) = errors.check(attr::rename(&field.attrs, &SET_FIELD)) else {
                continue;
            };
            let (name, span) = match &rename {
                Some(lit) => (lit.value(), lit.span()),
                None => (member.unraw().to_string(), member.span()),
            };
            if let Some(problem) = label_name_problem(&name) {
                errors.push(syn::Error::new(span, problem));
            } else if let Some(first) = labels.iter().find(|l| l.name == name) {
                errors.push(syn::Error::new(
                    span,
                    format!(
                        "label `{name}` is already written by field `{}`; rename one with `#[label(rename = \"…\")]`",
                        first.member
                    ),
                ));
            }
            labels.push(LabelField {
                member,
                ty: &field.ty,
                name,
            });
        }
        errors.finish()?;
        Ok(Self {
            krate: krate.unwrap_or_default(),
            ident: &input.ident,
            fields: labels,
        })
    }
}

impl<'a> Group<'a> {
    pub(crate) fn from_input(input: &'a DeriveInput) -> syn::Result<Self> {
        let fields = named_fields(
            input,
            "MetricGroup",
            "a struct with named fields, one per metric",
        )?;
        let mut errors = Errors::default();
        errors.check(no_generics(input, "MetricGroup", "a metric group"));
        let krate = errors.check(attr::crate_path(&input.attrs, &GROUP_STRUCT));
        let mut out: Vec<GroupField<'a>> = Vec::new();
        // Metric names in the group, to refuse a name given twice.
        let mut names: Vec<(String, &Ident)> = Vec::new();
        for field in &fields.named {
            let Some(member) = &field.ident else { continue };
            let Some(attrs) = errors.check(attr::metric(&field.attrs, &GROUP_FIELD)) else {
                continue;
            };
            if attrs.skip {
                out.push(GroupField {
                    member,
                    ty: &field.ty,
                    metric: None,
                });
                continue;
            }
            let (name, name_span) = match &attrs.name {
                Some(lit) => (lit.value(), lit.span()),
                None => (member.unraw().to_string(), member.span()),
            };
            if let Some(problem) = metric_name_problem(&name) {
                errors.push(syn::Error::new(name_span, problem));
            } else if let Some((_, first)) = names.iter().find(|(n, _)| *n == name) {
                errors.push(syn::Error::new(
                    name_span,
                    format!("metric `{name}` is already registered by field `{first}`"),
                ));
            }
            names.push((name.clone(), member));
            let help = match attrs
                .help
                .as_ref()
                .map(|lit| lit.value())
                .or_else(|| doc_help(&field.attrs))
            {
                Some(help) => help,
                None => {
                    errors.push(syn::Error::new(
                        member.span(),
                        format!(
                            "metric `{name}` has no help text: add a doc comment (`/// …`) to the field, it becomes the `# HELP` line (or use `#[metric(help = \"…\")]`)"
                        ),
                    ));
                    continue;
                }
            };
            out.push(GroupField {
                member,
                ty: &field.ty,
                metric: Some(MetricField {
                    name,
                    help,
                    buckets: attrs.buckets,
                    max_series: attrs.max_series,
                }),
            });
        }
        errors.finish()?;
        Ok(Self {
            krate: krate.unwrap_or_default(),
            ident: &input.ident,
            fields: out,
        })
    }
}

/// The help text a field's doc comment gives: each line trimmed, blank lines
/// dropped, joined with one space. `None` if there is no text.
fn doc_help(attrs: &[Attribute]) -> Option<String> {
    let mut words: Vec<String> = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("doc")) {
        // `#[doc = include_str!(…)]` and the like cannot be read here.
        let Meta::NameValue(nv) = &attr.meta else {
            continue;
        };
        let Expr::Lit(lit) = &nv.value else { continue };
        let Lit::Str(s) = &lit.lit else { continue };
        words.extend(
            s.value()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned),
        );
    }
    let help = words.join(" ");
    (!help.is_empty()).then_some(help)
}

/// The named fields of a struct, or an error on what it is instead.
fn named_fields<'a>(
    input: &'a DeriveInput,
    derive: &str,
    expected: &str,
) -> syn::Result<&'a FieldsNamed> {
    let refuse = |span: Span, what: &str| {
        syn::Error::new(
            span,
            format!("`{derive}` can only be derived for {expected}, not for {what}"),
        )
    };
    match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => Ok(named),
            Fields::Unnamed(unnamed) => Err(refuse(unnamed.span(), "a tuple struct")),
            Fields::Unit => Err(refuse(input.ident.span(), "a unit struct")),
        },
        Data::Enum(e) => Err(refuse(e.enum_token.span, "an enum")),
        Data::Union(u) => Err(refuse(u.union_token.span, "a union")),
    }
}

fn no_generics(input: &DeriveInput, derive: &str, what: &str) -> syn::Result<()> {
    if input.generics.params.is_empty() {
        Ok(())
    } else {
        Err(syn::Error::new_spanned(
            &input.generics,
            format!(
                "`{derive}` cannot be derived for a generic type (type, lifetime or const parameters): {what} is a concrete `'static` type"
            ),
        ))
    }
}
