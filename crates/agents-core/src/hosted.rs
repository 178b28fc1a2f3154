//! Hosted tools: tools that the provider runs on its side (OpenAI Responses
//! API): web search, file search, code interpreter, image generation and
//! hosted MCP servers.
//!
//! An agent offers them next to its function tools
//! ([`AgentBuilder::hosted_tool`](crate::AgentBuilder::hosted_tool)). The
//! model calls them and the provider runs them within the same response, so
//! the loop never invokes them; their output items (`web_search_call`,
//! `file_search_call`, `code_interpreter_call`, `image_generation_call`,
//! `mcp_call`, `mcp_list_tools`) become run items of kind
//! [`RunItemKind::HostedToolCall`](crate::RunItemKind::HostedToolCall) or
//! [`RunItemKind::McpListTools`](crate::RunItemKind::McpListTools) and are
//! kept as raw JSON items, so sessions and run states store them unchanged.
//!
//! A hosted MCP server may ask for approval before it runs a tool
//! ([`HostedMcp::require_approval`]): the response then holds an
//! `mcp_approval_request` item, which pauses the run like a function tool
//! that needs approval. The caller approves or rejects it on the run state
//! and resumes; the decision goes back to the model as an
//! `mcp_approval_response` item ([`mcp_approval_response`]).
//!
//! Only the Responses API runs hosted tools; the Chat Completions model
//! refuses a request that has any with
//! [`ModelError::Unsupported`](crate::ModelError::Unsupported).
//!
//! ```
//! use agents_core::hosted::{HostedMcp, HostedTool, McpRequireApproval};
//! use serde_json::json;
//!
//! let search = HostedTool::web_search().search_context_size("low");
//! assert_eq!(serde_json::to_value(&search).unwrap(),
//!     json!({"type": "web_search", "search_context_size": "low"}));
//!
//! let wiki = HostedMcp::new("deepwiki", "https://mcp.deepwiki.com/mcp")
//!     .require_approval(McpRequireApproval::Never);
//! assert_eq!(serde_json::to_value(HostedTool::from(wiki)).unwrap(),
//!     json!({"type": "mcp", "server_label": "deepwiki",
//!            "server_url": "https://mcp.deepwiki.com/mcp", "require_approval": "never"}));
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::items::Item;

/// The output item types of hosted tool calls (`web_search_call`, ...).
pub const HOSTED_CALL_TYPES: [&str; 5] = [
    "web_search_call",
    "file_search_call",
    "code_interpreter_call",
    "image_generation_call",
    "mcp_call",
];

/// The item type of a hosted MCP server's tool list.
pub const MCP_LIST_TOOLS: &str = "mcp_list_tools";
/// The item type of a hosted MCP server's request for approval.
pub const MCP_APPROVAL_REQUEST: &str = "mcp_approval_request";
/// The item type of the answer to an `mcp_approval_request`.
pub const MCP_APPROVAL_RESPONSE: &str = "mcp_approval_response";

/// A tool the provider runs: web search, file search, code interpreter,
/// image generation, or a hosted MCP server.
///
/// Serializes to the Responses API tool object. Each variant has typed
/// setters for the common options and [`HostedTool::option`] for any other
/// field the API accepts.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum HostedTool {
    /// `web_search` (or `web_search_preview`): searches the web.
    WebSearch(Map<String, Value>),
    /// `file_search`: searches vector stores.
    FileSearch {
        /// The tool object.
        tool: Map<String, Value>,
        /// Whether `file_search_call.results` is added to `include`.
        include_results: bool,
    },
    /// `code_interpreter`: runs Python in a container.
    CodeInterpreter(Map<String, Value>),
    /// `image_generation`: generates images.
    ImageGeneration(Map<String, Value>),
    /// `mcp`: a remote MCP server the provider calls.
    Mcp(HostedMcp),
}

fn object(kind: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("type".to_owned(), Value::String(kind.to_owned()));
    m
}

impl HostedTool {
    /// Web search (`{"type": "web_search"}`).
    pub fn web_search() -> Self {
        HostedTool::WebSearch(object("web_search"))
    }

    /// The preview web search tool (`{"type": "web_search_preview"}`).
    pub fn web_search_preview() -> Self {
        HostedTool::WebSearch(object("web_search_preview"))
    }

    /// File search over these vector stores.
    pub fn file_search<I, S>(vector_store_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut tool = object("file_search");
        let ids: Vec<Value> = vector_store_ids
            .into_iter()
            .map(|s| Value::String(s.into()))
            .collect();
        tool.insert("vector_store_ids".to_owned(), Value::Array(ids));
        HostedTool::FileSearch {
            tool,
            include_results: false,
        }
    }

    /// A code interpreter in an automatically created container
    /// (`"container": {"type": "auto"}`).
    pub fn code_interpreter() -> Self {
        let mut tool = object("code_interpreter");
        tool.insert("container".to_owned(), json!({"type": "auto"}));
        HostedTool::CodeInterpreter(tool)
    }

    /// Image generation with the provider's defaults.
    pub fn image_generation() -> Self {
        HostedTool::ImageGeneration(object("image_generation"))
    }

    /// A hosted MCP server (see [`HostedMcp`]).
    pub fn mcp(server_label: impl Into<String>, server_url: impl Into<String>) -> HostedMcp {
        HostedMcp::new(server_label, server_url)
    }

    /// The tool's `type` on the wire (`web_search`, `file_search`, `mcp`, ...).
    pub fn kind(&self) -> &str {
        let map = match self {
            HostedTool::Mcp(_) => return "mcp",
            HostedTool::WebSearch(m)
            | HostedTool::CodeInterpreter(m)
            | HostedTool::ImageGeneration(m)
            | HostedTool::FileSearch { tool: m, .. } => m,
        };
        map.get("type").and_then(Value::as_str).unwrap_or_default()
    }

    /// A name for listings and errors: the type, or `mcp:<server_label>`.
    pub fn name(&self) -> String {
        match self {
            HostedTool::Mcp(m) => format!("mcp:{}", m.server_label),
            other => other.kind().to_owned(),
        }
    }

    /// What the request's `include` list needs for this tool
    /// (`file_search_call.results` when file search results were asked for).
    pub fn includes(&self) -> Option<&'static str> {
        match self {
            HostedTool::FileSearch {
                include_results: true,
                ..
            } => Some("file_search_call.results"),
            _ => None,
        }
    }

    fn map_mut(&mut self) -> &mut Map<String, Value> {
        match self {
            HostedTool::WebSearch(m)
            | HostedTool::CodeInterpreter(m)
            | HostedTool::ImageGeneration(m)
            | HostedTool::FileSearch { tool: m, .. } => m,
            HostedTool::Mcp(m) => &mut m.extra,
        }
    }

    /// Sets any field of the tool object (for options without a setter).
    /// `type` cannot be changed this way.
    pub fn option(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        let key = key.into();
        if key != "type" {
            self.map_mut().insert(key, value.into());
        }
        self
    }

    /// Web search: `low`, `medium` or `high` context.
    pub fn search_context_size(self, size: impl Into<String>) -> Self {
        self.option("search_context_size", size.into())
    }

    /// Web search: only these domains (and their subdomains).
    pub fn allowed_domains<I, S>(self, domains: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let domains: Vec<Value> = domains
            .into_iter()
            .map(|d| Value::String(d.into()))
            .collect();
        self.option("filters", json!({ "allowed_domains": domains }))
    }

    /// Web search: the user's approximate location, e.g.
    /// `json!({"type": "approximate", "city": "Oslo", "country": "NO"})`.
    pub fn user_location(self, location: Value) -> Self {
        self.option("user_location", location)
    }

    /// File search: at most this many results (1 to 50).
    pub fn max_num_results(self, n: u32) -> Self {
        self.option("max_num_results", n)
    }

    /// File search: also return the search results (adds
    /// `file_search_call.results` to the request's `include`).
    pub fn include_search_results(mut self, include: bool) -> Self {
        if let HostedTool::FileSearch {
            include_results, ..
        } = &mut self
        {
            *include_results = include;
        }
        self
    }

    /// Code interpreter: run in this existing container.
    pub fn container_id(self, id: impl Into<String>) -> Self {
        self.option("container", id.into())
    }

    /// Code interpreter: an automatic container with these uploaded files.
    pub fn container_files<I, S>(self, file_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let ids: Vec<Value> = file_ids
            .into_iter()
            .map(|f| Value::String(f.into()))
            .collect();
        self.option("container", json!({"type": "auto", "file_ids": ids}))
    }
}

impl fmt::Debug for HostedTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostedTool::Mcp(m) => f.debug_tuple("Mcp").field(m).finish(),
            HostedTool::FileSearch {
                tool,
                include_results,
            } => f
                .debug_struct("FileSearch")
                .field("tool", tool)
                .field("include_results", include_results)
                .finish(),
            other => f
                .debug_tuple("HostedTool")
                .field(&other.kind())
                .finish_non_exhaustive(),
        }
    }
}

impl Serialize for HostedTool {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            HostedTool::WebSearch(m)
            | HostedTool::CodeInterpreter(m)
            | HostedTool::ImageGeneration(m)
            | HostedTool::FileSearch { tool: m, .. } => m.serialize(s),
            HostedTool::Mcp(m) => m.serialize(s),
        }
    }
}

impl From<HostedMcp> for HostedTool {
    fn from(m: HostedMcp) -> Self {
        HostedTool::Mcp(m)
    }
}

/// Which tools of a hosted MCP server need approval before they run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum McpRequireApproval {
    /// Every tool (the API's default).
    #[default]
    Always,
    /// No tool.
    Never,
    /// Per tool name: these always, these never (others: the API's default,
    /// which is to ask).
    Tools {
        /// Tools that always need approval.
        always: Vec<String>,
        /// Tools that never need approval.
        never: Vec<String>,
    },
}

impl Serialize for McpRequireApproval {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            McpRequireApproval::Always => s.serialize_str("always"),
            McpRequireApproval::Never => s.serialize_str("never"),
            McpRequireApproval::Tools { always, never } => {
                let mut m = s.serialize_map(None)?;
                if !always.is_empty() {
                    m.serialize_entry("always", &json!({ "tool_names": always }))?;
                }
                if !never.is_empty() {
                    m.serialize_entry("never", &json!({ "tool_names": never }))?;
                }
                m.end()
            }
        }
    }
}

/// A remote MCP server that the provider calls for the model (the
/// Responses API `mcp` tool).
///
/// `authorization` and header values are secrets: `Debug` shows header names
/// only and never the token.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct HostedMcp {
    /// The label that identifies the server in tool calls.
    pub server_label: String,
    /// The server URL (absent for a connector).
    pub server_url: Option<String>,
    /// A service connector id (`connector_gmail`, ...) instead of a URL.
    pub connector_id: Option<String>,
    /// Which tools need approval (`None`: the API's default, always).
    pub require_approval: Option<McpRequireApproval>,
    /// Only these tools of the server are offered (all when unset).
    pub allowed_tools: Option<Vec<String>>,
    /// A description of the server for the model.
    pub server_description: Option<String>,
    /// An OAuth access token for the server.
    pub authorization: Option<String>,
    /// HTTP headers sent to the server.
    pub headers: BTreeMap<String, String>,
    /// Other fields of the tool object.
    pub extra: Map<String, Value>,
}

impl HostedMcp {
    /// A server at `server_url`, labelled `server_label`.
    pub fn new(server_label: impl Into<String>, server_url: impl Into<String>) -> Self {
        HostedMcp {
            server_label: server_label.into(),
            server_url: Some(server_url.into()),
            connector_id: None,
            require_approval: None,
            allowed_tools: None,
            server_description: None,
            authorization: None,
            headers: BTreeMap::new(),
            extra: Map::new(),
        }
    }

    /// A service connector (`connector_googledrive`, ...) with an OAuth token.
    pub fn connector(
        server_label: impl Into<String>,
        connector_id: impl Into<String>,
        authorization: impl Into<String>,
    ) -> Self {
        let mut m = HostedMcp::new(server_label, "");
        m.server_url = None;
        m.connector_id = Some(connector_id.into());
        m.authorization = Some(authorization.into());
        m
    }

    /// Which tools need approval. Approval requests pause the run (see the
    /// [module docs](self)).
    pub fn require_approval(mut self, policy: McpRequireApproval) -> Self {
        self.require_approval = Some(policy);
        self
    }

    /// Offers only these tools of the server.
    pub fn allowed_tools<I, S>(mut self, tools: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_tools = Some(tools.into_iter().map(Into::into).collect());
        self
    }

    /// Describes the server for the model.
    pub fn server_description(mut self, description: impl Into<String>) -> Self {
        self.server_description = Some(description.into());
        self
    }

    /// Sends an OAuth access token to the server.
    pub fn authorization(mut self, token: impl Into<String>) -> Self {
        self.authorization = Some(token.into());
        self
    }

    /// Adds an HTTP header sent to the server.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }
}

impl fmt::Debug for HostedMcp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostedMcp")
            .field("server_label", &self.server_label)
            .field("server_url", &self.server_url)
            .field("connector_id", &self.connector_id)
            .field("require_approval", &self.require_approval)
            .field("allowed_tools", &self.allowed_tools)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "headers",
                &self
                    .headers
                    .keys()
                    .map(|k| (k.as_str(), "<redacted>"))
                    .collect::<BTreeMap<_, _>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Serialize for HostedMcp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", "mcp")?;
        m.serialize_entry("server_label", &self.server_label)?;
        if let Some(url) = &self.server_url {
            m.serialize_entry("server_url", url)?;
        }
        if let Some(id) = &self.connector_id {
            m.serialize_entry("connector_id", id)?;
        }
        if let Some(d) = &self.server_description {
            m.serialize_entry("server_description", d)?;
        }
        if let Some(a) = &self.authorization {
            m.serialize_entry("authorization", a)?;
        }
        if !self.headers.is_empty() {
            m.serialize_entry("headers", &self.headers)?;
        }
        if let Some(tools) = &self.allowed_tools {
            m.serialize_entry("allowed_tools", tools)?;
        }
        if let Some(r) = &self.require_approval {
            m.serialize_entry("require_approval", r)?;
        }
        for (k, v) in &self.extra {
            if !matches!(
                k.as_str(),
                "type"
                    | "server_label"
                    | "server_url"
                    | "connector_id"
                    | "server_description"
                    | "authorization"
                    | "headers"
                    | "allowed_tools"
                    | "require_approval"
            ) {
                m.serialize_entry(k, v)?;
            }
        }
        m.end()
    }
}

/// An `mcp_approval_request` output item: a hosted MCP server asks whether
/// it may run a tool.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct McpApprovalRequest {
    /// The request id, answered by `approval_request_id`.
    pub id: String,
    /// The server's label.
    pub server_label: String,
    /// The tool the server would run.
    pub name: String,
    /// The tool's arguments (a JSON string).
    pub arguments: String,
}

impl McpApprovalRequest {
    /// The request in `item`, if it is a well-formed `mcp_approval_request`.
    pub fn from_item(item: &Item) -> Option<Self> {
        let Item::Other(v) = item else { return None };
        if v.get("type").and_then(Value::as_str) != Some(MCP_APPROVAL_REQUEST) {
            return None;
        }
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        Some(McpApprovalRequest {
            id: text("id")?,
            server_label: text("server_label")?,
            name: text("name")?,
            arguments: text("arguments").unwrap_or_default(),
        })
    }
}

/// The `mcp_approval_response` item that answers request `request_id`.
pub fn mcp_approval_response(request_id: &str, approve: bool, reason: Option<&str>) -> Item {
    let mut v = json!({
        "type": MCP_APPROVAL_RESPONSE,
        "approval_request_id": request_id,
        "approve": approve,
    });
    if let (Some(reason), Some(map)) = (reason, v.as_object_mut()) {
        map.insert("reason".to_owned(), Value::String(reason.to_owned()));
    }
    Item::Other(v)
}

/// The `approval_request_id` of an `mcp_approval_response` item.
pub fn answered_request_id(item: &Item) -> Option<&str> {
    match item {
        Item::Other(v) if v.get("type").and_then(Value::as_str) == Some(MCP_APPROVAL_RESPONSE) => {
            v.get("approval_request_id").and_then(Value::as_str)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_serialize_to_the_responses_tool_objects() {
        let cases = [
            (
                HostedTool::web_search()
                    .allowed_domains(["example.com"])
                    .user_location(json!({"type": "approximate", "city": "Oslo"})),
                json!({"type": "web_search", "filters": {"allowed_domains": ["example.com"]},
                    "user_location": {"type": "approximate", "city": "Oslo"}}),
            ),
            (
                HostedTool::file_search(["vs_1"])
                    .max_num_results(3)
                    .include_search_results(true),
                json!({"type": "file_search", "vector_store_ids": ["vs_1"], "max_num_results": 3}),
            ),
            (
                HostedTool::code_interpreter(),
                json!({"type": "code_interpreter", "container": {"type": "auto"}}),
            ),
            (
                HostedTool::code_interpreter().container_id("cntr_1"),
                json!({"type": "code_interpreter", "container": "cntr_1"}),
            ),
            (
                HostedTool::image_generation()
                    .option("quality", "low")
                    .option("type", "nope"),
                json!({"type": "image_generation", "quality": "low"}),
            ),
            (
                HostedMcp::new("wiki", "https://x.test/mcp")
                    .allowed_tools(["ask"])
                    .require_approval(McpRequireApproval::Tools {
                        always: vec!["ask".into()],
                        never: vec![],
                    })
                    .into(),
                json!({"type": "mcp", "server_label": "wiki", "server_url": "https://x.test/mcp",
                    "allowed_tools": ["ask"], "require_approval": {"always": {"tool_names": ["ask"]}}}),
            ),
        ];
        for (tool, expected) in cases {
            assert_eq!(serde_json::to_value(&tool).expect("json"), expected);
        }
        assert_eq!(
            HostedTool::file_search(["v"])
                .include_search_results(true)
                .includes(),
            Some("file_search_call.results")
        );
        assert_eq!(HostedTool::web_search().includes(), None);
    }

    #[test]
    fn mcp_secrets_stay_out_of_debug() {
        let m = HostedMcp::connector("drive", "connector_googledrive", "tok-secret-1")
            .header("x-api-key", "hdr-secret-2");
        let shown = format!("{:?}", HostedTool::from(m.clone()));
        assert!(!shown.contains("tok-secret-1") && !shown.contains("hdr-secret-2"));
        assert!(shown.contains("x-api-key") && shown.contains("<redacted>"));
        let wire = serde_json::to_value(&m).expect("json");
        assert_eq!(wire["authorization"], "tok-secret-1");
        assert_eq!(wire["connector_id"], "connector_googledrive");
        assert!(wire.get("server_url").is_none());
    }

    #[test]
    fn approval_requests_parse_and_responses_answer_them() {
        let item: Item = serde_json::from_value(json!({"type": "mcp_approval_request",
            "id": "mcpr_1", "server_label": "wiki", "name": "ask", "arguments": "{}"}))
        .expect("item");
        let req = McpApprovalRequest::from_item(&item).expect("request");
        assert_eq!((req.id.as_str(), req.name.as_str()), ("mcpr_1", "ask"));
        assert!(McpApprovalRequest::from_item(&Item::user("x")).is_none());
        let bad = Item::Other(json!({"type": "mcp_approval_request", "id": 3}));
        assert!(McpApprovalRequest::from_item(&bad).is_none());
        let resp = mcp_approval_response("mcpr_1", false, Some("no"));
        assert_eq!(answered_request_id(&resp), Some("mcpr_1"));
        assert_eq!(
            serde_json::to_value(&resp).expect("json"),
            json!({"type": "mcp_approval_response", "approval_request_id": "mcpr_1",
                "approve": false, "reason": "no"})
        );
    }
}
