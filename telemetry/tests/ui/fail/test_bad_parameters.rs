use telemetry::testing::TestPipeline;

#[telemetry::test]
async fn two(t: TestPipeline, u: TestPipeline) {
    let _ = (t, u);
}

#[telemetry::test]
async fn destructured((t, u): (TestPipeline, u32)) {
    let _ = (t, u);
}

fn main() {}
