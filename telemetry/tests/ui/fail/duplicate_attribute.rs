use telem::trace;

#[trace(fields(user.id = 1, "user.id" = 2))]
fn f() {}

#[trace(fields(id = 1), record(id))]
fn g(id: u32) {
    let _ = id;
}

fn main() {
    f();
    g(1);
}
