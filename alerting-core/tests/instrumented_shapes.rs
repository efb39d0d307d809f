//! `#[instrumented]` works on every shape of function a service has.

use std::fmt::Display;
use std::sync::OnceLock;

use alerting_core::instrumented;
use alerting_core::metrics::{Format, Registry};

fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(Registry::new)
}

fn ok_calls(function: &str) -> f64 {
    let text = registry().encode_to_string(Format::Prometheus).unwrap();
    let prefix =
        format!(r#"function_calls_total{{function="{function}",module="instrumented_shapes","#);
    text.lines()
        .filter(|l| l.starts_with(&prefix) && l.contains(r#"outcome="ok""#))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[derive(Debug, Default)]
struct Pool {
    open: u32,
    name: String,
}

impl Pool {
    #[instrumented(registry = registry, function = "Pool::by_value")]
    fn by_value(self) -> u32 {
        self.open
    }

    #[instrumented(registry = registry, function = "Pool::by_ref")]
    fn by_ref(&self) -> &str {
        &self.name
    }

    #[instrumented(registry = registry, function = "Pool::by_mut")]
    fn by_mut(&mut self) -> &mut u32 {
        self.open += 1;
        &mut self.open
    }

    #[instrumented(registry = registry, function = "Pool::with_lifetime")]
    fn with_lifetime<'a>(&'a self, other: &'a str) -> &'a str {
        if self.name.is_empty() {
            other
        } else {
            &self.name
        }
    }

    #[instrumented(registry = registry, function = "Pool::async_ref")]
    async fn async_ref(&self) -> Result<u32, std::io::Error> {
        tokio::task::yield_now().await;
        Ok(self.open)
    }

    #[instrumented(registry = registry, function = "Pool::async_mut")]
    async fn async_mut(&mut self, by: u32) -> u32 {
        self.open += by;
        self.open
    }
}

#[test]
fn methods_with_every_receiver() {
    let mut pool = Pool {
        open: 1,
        name: "db".into(),
    };
    assert_eq!(pool.by_ref(), "db");
    *pool.by_mut() += 10;
    assert_eq!(pool.with_lifetime("x"), "db");
    assert_eq!(pool.by_value(), 12);
    for f in [
        "Pool::by_ref",
        "Pool::by_mut",
        "Pool::with_lifetime",
        "Pool::by_value",
    ] {
        assert_eq!(ok_calls(f), 1.0, "{f}");
    }
}

#[tokio::test]
async fn async_methods() {
    let mut pool = Pool::default();
    assert_eq!(pool.async_mut(2).await, 2);
    assert_eq!(pool.async_ref().await.unwrap(), 2);
    assert_eq!(ok_calls("Pool::async_mut"), 1.0);
    assert_eq!(ok_calls("Pool::async_ref"), 1.0);
}

trait Store {
    fn get(&self, key: u32) -> Option<u32>;
    async fn fetch(&self, key: u32) -> Result<u32, String>;
}

struct Memory;

impl Store for Memory {
    #[instrumented(registry = registry, function = "Memory::get")]
    fn get(&self, key: u32) -> Option<u32> {
        Some(key)
    }

    #[instrumented(registry = registry, function = "Memory::fetch")]
    async fn fetch(&self, key: u32) -> Result<u32, String> {
        if key == 0 {
            return Err("zero".into());
        }
        Ok(key)
    }
}

#[tokio::test]
async fn trait_impl_methods_including_async_fn_in_traits() {
    assert_eq!(Memory.get(1), Some(1));
    assert_eq!(Memory.fetch(2).await, Ok(2));
    assert!(Memory.fetch(0).await.is_err());
    assert_eq!(ok_calls("Memory::get"), 1.0);
    assert_eq!(ok_calls("Memory::fetch"), 1.0);
}

#[instrumented(registry = registry)]
fn generic<T: Display, U>(value: T, other: U) -> String
where
    U: Into<u64>,
{
    format!("{value}/{}", other.into())
}

#[instrumented(registry = registry)]
fn returns_impl_trait(n: u32) -> impl Iterator<Item = u32> {
    (0..n).map(|i| i * 2)
}

#[instrumented(registry = registry)]
fn returns_unit(counter: &mut u32) {
    *counter += 1;
}

#[instrumented(registry = registry)]
fn uses_question_mark(input: &str) -> Result<u64, Box<dyn std::error::Error>> {
    let n: u64 = input.trim().parse()?;
    if n == 0 {
        return Ok(0);
    }
    Ok(n * 2)
}

#[instrumented(registry = registry)]
async fn async_question_mark(input: &str) -> Result<u64, std::num::ParseIntError> {
    let n: u64 = input.parse()?;
    Ok(n)
}

#[tokio::test]
async fn generics_return_types_and_early_returns() {
    assert_eq!(generic(1.5, 7u8), "1.5/7");
    assert_eq!(generic("a", 1u32), "a/1");
    assert_eq!(returns_impl_trait(3).collect::<Vec<_>>(), vec![0, 2, 4]);
    let mut n = 0;
    returns_unit(&mut n);
    assert_eq!(n, 1);
    assert_eq!(uses_question_mark("0").unwrap(), 0);
    assert_eq!(uses_question_mark("21").unwrap(), 42);
    assert!(uses_question_mark("x").is_err());
    assert_eq!(async_question_mark("5").await, Ok(5));
    // One call site, shared by every instantiation of the generic function.
    assert_eq!(ok_calls("generic"), 2.0);
    assert_eq!(ok_calls("returns_impl_trait"), 1.0);
    assert_eq!(ok_calls("returns_unit"), 1.0);
    assert_eq!(ok_calls("uses_question_mark"), 2.0);
    assert_eq!(ok_calls("async_question_mark"), 1.0);
}

#[tokio::test]
#[instrumented(registry = registry)]
async fn stacked_under_tokio_test() {
    tokio::task::yield_now().await;
}

#[instrumented(registry = registry)]
#[tokio::test]
async fn stacked_over_tokio_test() {
    tokio::task::yield_now().await;
}

#[test]
fn stacking_with_tokio_test_counts_the_test_itself() {
    // Each stacked test above counts one ok call once it has run; they run
    // in any order, so run them here too, as plain calls.
    stacked_over_tokio_test();
    assert!(ok_calls("stacked_over_tokio_test") >= 1.0);
}
