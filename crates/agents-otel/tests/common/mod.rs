//! The agents the exporter tests trace: `Triage` with a `lookup` tool and a
//! handoff to `Billing`, both on model `gpt-test` (a scripted model).

use agents_core::{Agent, FunctionTool, ModelSettings, ToolContext};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Id {
    id: u32,
}

/// `Triage` (tool `lookup`, handoff to `Billing`, temperature 0.2 and at
/// most 256 output tokens); a run of it opens agent, generation, function
/// and handoff spans.
pub fn triage() -> Agent {
    let lookup = FunctionTool::new(
        "lookup",
        "Looks an order up.",
        |_c: ToolContext, a: Id| async move { Ok::<_, String>(format!("order {}", a.id)) },
    );
    let billing: Agent = Agent::builder("Billing").model("gpt-test").build();
    Agent::builder("Triage")
        .model("gpt-test")
        .model_settings(ModelSettings::new().temperature(0.2).max_tokens(256u32))
        .tool(lookup)
        .handoff_to(&billing)
        .build()
}
