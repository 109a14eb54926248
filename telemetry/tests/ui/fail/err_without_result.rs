use telem::trace;

#[trace(err)]
fn count() -> u32 {
    3
}

fn main() {
    count();
}
