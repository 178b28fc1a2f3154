use agents_macros::tool;

#[tool]
fn weather(city: String) -> String {
    city
}

fn main() {}
