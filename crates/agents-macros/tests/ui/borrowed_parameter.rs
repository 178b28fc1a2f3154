use agents_macros::tool;

/// Weather.
#[tool]
fn weather(city: &str) -> String {
    city.to_owned()
}

fn main() {}
