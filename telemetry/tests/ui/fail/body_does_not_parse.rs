use telem::trace;

// The fn is left as it is, so the compiler's own parse error shows; errors in the
// attribute's own arguments are still reported.
#[trace(bogus)]
fn f() -> u32 {
    let x = ;
    x
}

fn main() {
    f();
}
