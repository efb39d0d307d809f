//! Placeholder until the generator moves here from tools/generate.
fn main() {}
