//! `#[instrumented]`: `args` parses the attribute, `expand` writes the code.

mod args;
mod expand;

use proc_macro2::TokenStream;

pub(crate) fn instrumented(attr: TokenStream, item: TokenStream) -> TokenStream {
    let args = match syn::parse2::<args::Args>(attr) {
        Ok(args) => args,
        Err(err) => {
            // Keep the function so the user sees only the attribute error.
            let mut out = err.to_compile_error();
            out.extend(item);
            return out;
        }
    };
    match syn::parse2::<syn::ItemFn>(item.clone()) {
        Ok(function) => match expand::expand(&args, function) {
            Ok(tokens) => tokens,
            Err(err) => {
                let mut out = err.to_compile_error();
                out.extend(item);
                out
            }
        },
        Err(_) => syn::Error::new_spanned(
            &item,
            "#[instrumented] applies to a function with a body (a free function, a method, or a trait impl method)",
        )
        .to_compile_error(),
    }
}

#[cfg(test)]
mod tests {
    //! Snapshots of expansions, so a change in the generated code shows in
    //! review. `SNAPSHOTS=overwrite cargo test -p alerting-macros` rewrites
    //! them; read the diff.

    use quote::quote;

    fn check(name: &str, attr: proc_macro2::TokenStream, item: proc_macro2::TokenStream) {
        let out = super::instrumented(attr, item);
        let file: syn::File = syn::parse2(out).expect("expansion parses as a file");
        let pretty = prettyplease::unparse(&file);
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/expand")
            .join(format!("{name}.expanded.rs"));
        if std::env::var_os("SNAPSHOTS").is_some_and(|v| v == "overwrite") {
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, &pretty).expect("write snapshot");
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!(
                "missing snapshot {}; run with SNAPSHOTS=overwrite",
                path.display()
            )
        });
        assert_eq!(pretty, expected, "expansion of {name} changed");
    }

    #[test]
    fn sync_function_with_defaults() {
        check(
            "sync_default",
            quote!(),
            quote! {
                fn parse(input: &str) -> Result<u32, ParseError> {
                    let n = input.parse().map_err(|_| ParseError)?;
                    Ok(n)
                }
            },
        );
    }

    #[test]
    fn async_handler_with_seed_names() {
        check(
            "async_seed_names",
            quote! {
                calls = "bsc_ws_messages_total",
                duration = "bsc_ws_messages_processing_seconds",
                outcome_label = "result",
                labels(event_type = "swap"),
                buckets = [0.005, 0.05, 0.5],
                in_flight,
                span(fields(batch = batch_id)),
                ok_if = is_success,
                crate = my_alerting
            },
            quote! {
                pub async fn handle(&self, batch_id: u32) -> Result<Response, Error> {
                    self.process(batch_id).await
                }
            },
        );
    }
}
