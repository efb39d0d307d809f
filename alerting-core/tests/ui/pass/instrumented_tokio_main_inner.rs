use alerting_core::instrumented;

#[tokio::main(flavor = "current_thread")]
#[instrumented(span)]
async fn main() {
    tokio::task::yield_now().await;
}
