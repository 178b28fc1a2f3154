//! Helpers shared by the behaviour tests of the agent loop.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use agents_core::hooks::HookResult;
use agents_core::testing::{RecordedCall, ScriptedModel};
use agents_core::{
    Agent, AgentBuilder, BoxFuture, FinalOutput, FunctionCall, FunctionTool, Item, ModelResponse,
    ModelStreamEvent, RunContext, RunItem, RunItemKind, ToolContext, ToolOutput,
};
use agents_runner::{RunError, RunStreamEvent};
use schemars::JsonSchema;
use serde::Deserialize;

/// The arguments of the test tools: `{"text": "..."}`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Text {
    pub text: String,
}

/// `{"text": "<t>"}`.
pub fn args(t: &str) -> String {
    serde_json::json!({ "text": t }).to_string()
}

/// An agent named `name` on `model`.
pub fn agent(name: &str, model: &Arc<ScriptedModel>) -> AgentBuilder {
    Agent::builder(name).model(Arc::clone(model))
}

/// A tool that answers `"<name>:<text>"`.
pub fn echo(name: &str) -> FunctionTool<(), Text> {
    let prefix = name.to_owned();
    FunctionTool::new(
        name,
        "Echoes its text.",
        move |_ctx: ToolContext, a: Text| {
            let out = format!("{prefix}:{}", a.text);
            async move { Ok::<_, String>(out) }
        },
    )
}

/// A tool that always fails with `message`.
pub fn failing(name: &str, message: &str) -> FunctionTool<(), Text> {
    let message = message.to_owned();
    FunctionTool::new(name, "Always fails.", move |_ctx: ToolContext, _a: Text| {
        let message = message.clone();
        async move { Err::<String, _>(message) }
    })
}

/// A tool that panics with `message`.
pub fn panicking(name: &str, message: &'static str) -> FunctionTool<(), Text> {
    FunctionTool::new(
        name,
        "Always panics.",
        move |_ctx: ToolContext, a: Text| async move {
            if a.text != "__never__" {
                panic!("{message}");
            }
            Ok::<_, String>("unreachable".to_owned())
        },
    )
}

/// A tool that sleeps for `d` and then answers `"<name>:<text>"`.
pub fn sleeping(name: &str, d: Duration) -> FunctionTool<(), Text> {
    let prefix = name.to_owned();
    FunctionTool::new(name, "Sleeps.", move |_ctx: ToolContext, a: Text| {
        let out = format!("{prefix}:{}", a.text);
        async move {
            tokio::time::sleep(d).await;
            Ok::<_, String>(out)
        }
    })
}

/// A model response with a fixed id.
pub fn response(id: &str, output: Vec<Item>) -> ModelResponse {
    ModelResponse::new(output).with_response_id(id)
}

/// The `function_call_output` items of a call's input, as `(call_id, text)`.
pub fn outputs_in(call: &RecordedCall) -> Vec<(String, String)> {
    outputs_of(&call.input)
}

/// The `function_call_output` items of `items`, as `(call_id, text)`.
pub fn outputs_of(items: &[Item]) -> Vec<(String, String)> {
    items
        .iter()
        .filter_map(Item::as_function_call_output)
        .map(|o| (o.call_id.clone(), o.output.text()))
        .collect()
}

/// The wire `type` of each item.
pub fn kinds(items: &[Item]) -> Vec<String> {
    items.iter().map(|i| i.kind().to_owned()).collect()
}

/// The stream event name of each run item.
pub fn names(items: &[RunItem]) -> Vec<&'static str> {
    items.iter().map(RunItem::event_name).collect()
}

/// The wire items of run items.
pub fn wire(items: &[RunItem]) -> Vec<Item> {
    items.iter().map(|i| i.item.clone()).collect()
}

/// The tool outputs among run items: `(call_id, text, is_error)`.
pub fn tool_outputs(items: &[RunItem]) -> Vec<(String, String, bool)> {
    items
        .iter()
        .filter_map(|i| match &i.kind {
            RunItemKind::ToolCallOutput { output, is_error } => {
                let call_id = i.item.as_function_call_output()?.call_id.clone();
                Some((call_id, output.to_text(), *is_error))
            }
            _ => None,
        })
        .collect()
}

/// The function calls among run items.
pub fn calls_of(items: &[RunItem]) -> Vec<FunctionCall> {
    items
        .iter()
        .filter_map(|i| i.item.as_function_call().cloned())
        .collect()
}

/// Text of a final output.
pub fn text_of(output: &Option<FinalOutput>) -> String {
    output
        .as_ref()
        .map(FinalOutput::to_text)
        .unwrap_or_default()
}

/// Unwraps a run error, failing with the final output otherwise.
pub fn expect_err<T: std::fmt::Debug>(r: Result<T, RunError>) -> RunError {
    match r {
        Ok(v) => panic!("expected the run to fail, it succeeded: {v:?}"),
        Err(e) => e,
    }
}

/// A compact name for a stream event.
pub fn describe(e: &RunStreamEvent) -> String {
    match e {
        RunStreamEvent::AgentUpdated { agent } => format!("agent_updated:{agent}"),
        RunStreamEvent::RunItem { name, .. } => (*name).to_owned(),
        RunStreamEvent::RawModel(raw) => match raw {
            ModelStreamEvent::OutputTextDelta { delta, .. } => format!("raw:text_delta:{delta}"),
            ModelStreamEvent::FunctionCallArgumentsDelta { .. } => "raw:args_delta".to_owned(),
            ModelStreamEvent::ReasoningDelta { .. } => "raw:reasoning_delta".to_owned(),
            ModelStreamEvent::OutputItemDone { item, .. } => {
                format!("raw:item_done:{}", item.kind())
            }
            ModelStreamEvent::Completed(_) => "raw:completed".to_owned(),
            _ => "raw:other".to_owned(),
        },
        _ => "unknown".to_owned(),
    }
}

/// A shared, ordered log.
#[derive(Clone, Debug, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    pub fn push(&self, entry: impl Into<String>) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(entry.into());
    }

    pub fn entries(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Tracks how many things run at once and the highest count seen.
#[derive(Clone, Default)]
pub struct Gauge {
    now: Arc<AtomicUsize>,
    max: Arc<AtomicUsize>,
}

impl Gauge {
    pub fn enter(&self) {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(n, Ordering::SeqCst);
    }

    pub fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }

    pub fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }
}

/// Hooks that log `"<tag>:<event>:<detail>"`, failing on the event named `fail_on`.
pub struct Recorder {
    pub tag: &'static str,
    pub log: Log,
    pub fail_on: Option<&'static str>,
}

impl Recorder {
    pub fn new(tag: &'static str, log: &Log) -> Self {
        Recorder {
            tag,
            log: log.clone(),
            fail_on: None,
        }
    }

    pub fn failing_on(tag: &'static str, log: &Log, event: &'static str) -> Self {
        Recorder {
            tag,
            log: log.clone(),
            fail_on: Some(event),
        }
    }

    fn record(&self, event: &str, detail: &str) -> BoxFuture<'static, HookResult> {
        self.log.push(format!("{}:{event}:{detail}", self.tag));
        let result = if self.fail_on == Some(event) {
            Err(format!("{} refused {event}", self.tag))
        } else {
            Ok(())
        };
        Box::pin(std::future::ready(result))
    }
}

impl agents_core::Hooks for Recorder {
    fn on_agent_start<'a>(
        &'a self,
        _ctx: &'a RunContext,
        agent: &'a Agent,
    ) -> BoxFuture<'a, HookResult> {
        self.record("agent_start", agent.name())
    }

    fn on_agent_end<'a>(
        &'a self,
        _ctx: &'a RunContext,
        agent: &'a Agent,
        output: &'a FinalOutput,
    ) -> BoxFuture<'a, HookResult> {
        self.record(
            "agent_end",
            &format!("{}={}", agent.name(), output.to_text()),
        )
    }

    fn on_llm_start<'a>(
        &'a self,
        _ctx: &'a RunContext,
        agent: &'a Agent,
        _system_prompt: Option<&'a str>,
        _input: &'a [Item],
    ) -> BoxFuture<'a, HookResult> {
        self.record("llm_start", agent.name())
    }

    fn on_llm_end<'a>(
        &'a self,
        _ctx: &'a RunContext,
        agent: &'a Agent,
        _response: &'a ModelResponse,
    ) -> BoxFuture<'a, HookResult> {
        self.record("llm_end", agent.name())
    }

    fn on_tool_start<'a>(
        &'a self,
        _ctx: &'a RunContext,
        _agent: &'a Agent,
        call: &'a FunctionCall,
    ) -> BoxFuture<'a, HookResult> {
        self.record("tool_start", &call.name)
    }

    fn on_tool_end<'a>(
        &'a self,
        _ctx: &'a RunContext,
        _agent: &'a Agent,
        call: &'a FunctionCall,
        output: &'a ToolOutput,
    ) -> BoxFuture<'a, HookResult> {
        self.record("tool_end", &format!("{}={}", call.name, output.to_text()))
    }

    fn on_handoff<'a>(
        &'a self,
        _ctx: &'a RunContext,
        from: &'a Agent,
        to: &'a Agent,
    ) -> BoxFuture<'a, HookResult> {
        self.record("handoff", &format!("{}->{}", from.name(), to.name()))
    }
}

/// Creates and closes of a [`CountingKit`]'s sessions.
#[derive(Clone, Default)]
pub struct KitCounts {
    pub opened: Arc<AtomicUsize>,
    pub closed: Arc<AtomicUsize>,
}

impl KitCounts {
    /// `(opened, closed)`.
    pub fn get(&self) -> (usize, usize) {
        (
            self.opened.load(Ordering::SeqCst),
            self.closed.load(Ordering::SeqCst),
        )
    }
}

/// A toolkit whose sessions offer one echo tool named `<name>_tool` and
/// count their opening and closing.
pub struct CountingKit {
    pub name: String,
    pub counts: KitCounts,
}

impl CountingKit {
    pub fn new(name: &str, counts: &KitCounts) -> Self {
        CountingKit {
            name: name.to_owned(),
            counts: counts.clone(),
        }
    }
}

struct CountingKitSession {
    name: String,
    counts: KitCounts,
}

impl agents_core::Toolkit for CountingKit {
    fn name(&self) -> &str {
        &self.name
    }

    fn create_session<'a>(
        &'a self,
        _ctx: &'a RunContext,
    ) -> BoxFuture<'a, Result<Arc<dyn agents_core::ToolkitSession>, agents_core::ToolkitError>>
    {
        self.counts.opened.fetch_add(1, Ordering::SeqCst);
        let s: Arc<dyn agents_core::ToolkitSession> = Arc::new(CountingKitSession {
            name: self.name.clone(),
            counts: self.counts.clone(),
        });
        Box::pin(std::future::ready(Ok(s)))
    }
}

impl agents_core::ToolkitSession for CountingKitSession {
    fn tools(&self) -> Vec<Arc<dyn agents_core::Tool>> {
        vec![echo(&format!("{}_tool", self.name)).into_dyn()]
    }

    fn close(&self) -> BoxFuture<'_, Result<(), agents_core::ToolkitError>> {
        self.counts.closed.fetch_add(1, Ordering::SeqCst);
        Box::pin(std::future::ready(Ok(())))
    }
}
