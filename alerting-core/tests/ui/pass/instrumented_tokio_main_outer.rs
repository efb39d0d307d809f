use alerting_core::instrumented;

#[instrumented]
#[tokio::main(flavor = "current_thread")]
async fn main() {
    tokio::task::yield_now().await;
}
