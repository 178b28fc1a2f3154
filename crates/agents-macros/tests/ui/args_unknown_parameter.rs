use agents_macros::tool;

/// Weather.
#[tool(args(town = "The town"))]
fn weather(city: String) -> String {
    city
}

fn main() {}
