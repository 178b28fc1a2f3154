use agents_macros::tool;

/// Weather.
#[tool(nmae = "weather")]
fn weather(city: String) -> String {
    city
}

fn main() {}
