use agents_macros::tool;

/// Weather.
#[tool(timeout = "soon")]
fn weather(city: String) -> String {
    city
}

fn main() {}
