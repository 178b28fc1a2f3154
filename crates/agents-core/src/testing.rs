//! Test helpers: [`ScriptedModel`], a model that replays scripted steps and
//! records every call. Enabled by the `testing` feature.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt};

use crate::handoff::snake_case;
use crate::items::{Content, ContentPart, Item};
use crate::model::{
    Model, ModelError, ModelRequest, ModelResponse, ModelStreamEvent, OutputSchema, Prompt,
    ToolSpec,
};
use crate::settings::ModelSettings;

/// One scripted streaming event (or a failure, or a stall).
#[derive(Clone, Debug)]
pub enum ScriptedEvent {
    /// Yield this event.
    Event(ModelStreamEvent),
    /// Yield this error.
    Error(ModelError),
    /// Never yield again (until the stream is dropped).
    Stall,
}

/// One scripted step: what the next model call does.
#[derive(Clone, Debug)]
pub enum Step {
    /// Return this response. A streamed call gets one delta per text and
    /// argument string, then the completed event.
    Output(ModelResponse),
    /// Stream exactly these events. A non-streamed call gets the response
    /// of the `Completed` event (or the first error).
    Stream(Vec<ScriptedEvent>),
    /// Fail with this error.
    Error(ModelError),
    /// Never answer (until dropped).
    Stall,
}

/// What a model call received.
#[derive(Clone, Debug)]
pub struct RecordedCall {
    /// System instructions.
    pub instructions: Option<String>,
    /// Input items.
    pub input: Vec<Item>,
    /// Function tools.
    pub tools: Vec<ToolSpec<'static>>,
    /// Handoff tools.
    pub handoffs: Vec<ToolSpec<'static>>,
    /// Hosted tools.
    pub hosted_tools: Vec<crate::hosted::HostedTool>,
    /// Settings.
    pub settings: ModelSettings,
    /// Output schema.
    pub output_schema: Option<OutputSchema>,
    /// `previous_response_id`.
    pub previous_response_id: Option<String>,
    /// `conversation_id`.
    pub conversation_id: Option<String>,
    /// Stored prompt.
    pub prompt: Option<Prompt>,
    /// Whether the call was streamed.
    pub streamed: bool,
}

impl RecordedCall {
    /// Names of the function tools offered.
    pub fn tool_names(&self) -> Vec<&str> {
        self.tools.iter().map(|t| t.name.as_ref()).collect()
    }

    /// Names of the handoff tools offered.
    pub fn handoff_names(&self) -> Vec<&str> {
        self.handoffs.iter().map(|t| t.name.as_ref()).collect()
    }
}

/// A model that replays scripted steps in FIFO order and records each call.
///
/// ```
/// use agents_core::testing::{ScriptedModel, text};
///
/// let model = ScriptedModel::new();
/// model.push_output(vec![text("hello")]);
/// assert_eq!(model.remaining(), 1);
/// ```
#[derive(Debug, Default)]
pub struct ScriptedModel {
    steps: Mutex<VecDeque<Step>>,
    calls: Mutex<Vec<RecordedCall>>,
    counter: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ScriptedModel {
    /// An empty script, shared.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Queues a step.
    pub fn push(&self, step: Step) -> &Self {
        lock(&self.steps).push_back(step);
        self
    }

    /// Queues a response with these output items (and a generated response id).
    pub fn push_output(&self, output: Vec<Item>) -> &Self {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.push(Step::Output(
            ModelResponse::new(output).with_response_id(format!("resp_scripted_{n}")),
        ))
    }

    /// Queues a response that is one assistant text message.
    pub fn push_text(&self, text_: &str) -> &Self {
        self.push_output(vec![text(text_)])
    }

    /// Queues a full response.
    pub fn push_response(&self, response: ModelResponse) -> &Self {
        self.push(Step::Output(response))
    }

    /// Queues a stream of exactly these events.
    pub fn push_stream(&self, events: Vec<ScriptedEvent>) -> &Self {
        self.push(Step::Stream(events))
    }

    /// Queues an error.
    pub fn push_error(&self, error: ModelError) -> &Self {
        self.push(Step::Error(error))
    }

    /// Queues a call that never answers.
    pub fn push_stall(&self) -> &Self {
        self.push(Step::Stall)
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<RecordedCall> {
        lock(&self.calls).clone()
    }

    /// How many calls were made.
    pub fn call_count(&self) -> usize {
        lock(&self.calls).len()
    }

    /// How many steps are left.
    pub fn remaining(&self) -> usize {
        lock(&self.steps).len()
    }

    /// Panics if scripted steps were not used.
    #[track_caller]
    pub fn assert_complete(&self) {
        let left = self.remaining();
        assert!(
            left == 0,
            "ScriptedModel: {left} scripted step(s) were never used (calls made: {})",
            self.call_count()
        );
    }

    fn next(&self, request: &ModelRequest<'_>, streamed: bool) -> Result<Step, ModelError> {
        let call = RecordedCall {
            instructions: request.instructions.map(str::to_owned),
            input: request.input.to_vec(),
            tools: request
                .tools
                .iter()
                .cloned()
                .map(ToolSpec::into_owned)
                .collect(),
            handoffs: request
                .handoffs
                .iter()
                .cloned()
                .map(ToolSpec::into_owned)
                .collect(),
            hosted_tools: request.hosted_tools.to_vec(),
            settings: request.settings.clone(),
            output_schema: request.output_schema.cloned(),
            previous_response_id: request.previous_response_id.map(str::to_owned),
            conversation_id: request.conversation_id.map(str::to_owned),
            prompt: request.prompt.cloned(),
            streamed,
        };
        let mut calls = lock(&self.calls);
        calls.push(call);
        let n = calls.len();
        drop(calls);
        lock(&self.steps).pop_front().ok_or_else(|| {
            ModelError::Other(format!(
                "ScriptedModel: unexpected model call #{n}: no scripted step left"
            ))
        })
    }
}

/// The events a streamed call of a plain response produces.
pub fn events_for(response: &ModelResponse) -> Vec<ModelStreamEvent> {
    let mut events = Vec::new();
    for (i, item) in response.output.iter().enumerate() {
        match item {
            Item::Message(m) => {
                if let Content::Parts(parts) = &m.content {
                    for p in parts {
                        if let ContentPart::OutputText { text, .. } = p {
                            events.push(ModelStreamEvent::OutputTextDelta {
                                item_id: m.id.clone(),
                                output_index: i,
                                delta: text.clone(),
                            });
                        }
                    }
                }
            }
            Item::FunctionCall(c) => events.push(ModelStreamEvent::FunctionCallArgumentsDelta {
                item_id: c.id.clone(),
                output_index: i,
                call_id: Some(c.call_id.clone()),
                name: Some(c.name.clone()),
                delta: c.arguments.clone(),
            }),
            _ => {}
        }
        events.push(ModelStreamEvent::OutputItemDone {
            output_index: i,
            item: item.clone(),
        });
    }
    events.push(ModelStreamEvent::Completed(response.clone()));
    events
}

impl Model for ScriptedModel {
    fn get_response<'a>(
        &'a self,
        request: ModelRequest<'a>,
    ) -> BoxFuture<'a, Result<ModelResponse, ModelError>> {
        let step = self.next(&request, false);
        Box::pin(async move {
            match step? {
                Step::Output(r) => Ok(r),
                Step::Error(e) => Err(e),
                Step::Stall => futures::future::pending().await,
                Step::Stream(events) => {
                    for e in events {
                        match e {
                            ScriptedEvent::Event(ModelStreamEvent::Completed(r)) => return Ok(r),
                            ScriptedEvent::Event(_) => {}
                            ScriptedEvent::Error(e) => return Err(e),
                            ScriptedEvent::Stall => futures::future::pending::<()>().await,
                        }
                    }
                    Err(ModelError::Stream(
                        "scripted stream ended without a completed event".into(),
                    ))
                }
            }
        })
    }

    fn stream_response<'a>(
        &'a self,
        request: ModelRequest<'a>,
    ) -> BoxStream<'a, Result<ModelStreamEvent, ModelError>> {
        let events: Vec<ScriptedEvent> = match self.next(&request, true) {
            Err(e) | Ok(Step::Error(e)) => vec![ScriptedEvent::Error(e)],
            Ok(Step::Stall) => vec![ScriptedEvent::Stall],
            Ok(Step::Output(r)) => events_for(&r)
                .into_iter()
                .map(ScriptedEvent::Event)
                .collect(),
            Ok(Step::Stream(e)) => e,
        };
        stream::iter(events)
            .then(|e| async move {
                match e {
                    ScriptedEvent::Event(ev) => Ok(ev),
                    ScriptedEvent::Error(err) => Err(err),
                    ScriptedEvent::Stall => futures::future::pending().await,
                }
            })
            .boxed()
    }
}

static CALL_IDS: AtomicU64 = AtomicU64::new(1);

/// An assistant text message.
pub fn text(text: &str) -> Item {
    Item::assistant(text)
}

/// A function call with a generated call id.
pub fn function_call(name: &str, arguments: &str) -> Item {
    let n = CALL_IDS.fetch_add(1, Ordering::Relaxed);
    Item::function_call(format!("call_{n}"), name, arguments)
}

/// A function call with a given call id.
pub fn function_call_with_id(call_id: &str, name: &str, arguments: &str) -> Item {
    Item::function_call(call_id, name, arguments)
}

/// A call of the default handoff tool to the agent named `agent_name`.
pub fn handoff_call(agent_name: &str) -> Item {
    function_call(&format!("transfer_to_{}", snake_case(agent_name)), "{}")
}
