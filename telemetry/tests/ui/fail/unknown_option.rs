use telem::trace;

#[trace(level = "info")]
fn f() {}

fn main() {
    f();
}
