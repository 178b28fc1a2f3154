use agents_macros::tool;

/// Logs.
#[tool]
fn log(line: String) {
    let _ = line;
}

fn main() {}
