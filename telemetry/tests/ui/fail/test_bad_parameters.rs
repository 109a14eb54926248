use telem::testing::TestPipeline;

#[telem::test]
async fn two(t: TestPipeline, u: TestPipeline) {
    let _ = (t, u);
}

#[telem::test]
async fn destructured((t, u): (TestPipeline, u32)) {
    let _ = (t, u);
}

fn main() {}
