use agents_macros::tool;

/// Weather.
#[tool]
fn weather(city: String, ctx: agents_core::tool::ToolContext) -> String {
    let _ = ctx;
    city
}

fn main() {}
