use telem::trace;

#[trace(kind = sever)]
fn f() {}

fn main() {
    f();
}
