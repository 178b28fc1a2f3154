//! The graph of an agent: the agents it can hand off to (transitively), and
//! the tools and toolkits of each, exported as Mermaid or Graphviz DOT.
//!
//! ```
//! use agents_core::{Agent, FunctionTool, NoArgs, ToolContext};
//!
//! let lookup = FunctionTool::new("lookup_order", "Finds an order.", |_: ToolContext, _: NoArgs| async {
//!     Ok::<_, String>("shipped")
//! });
//! let billing: Agent = Agent::builder("Billing").tool(lookup).build();
//! let triage: Agent = Agent::builder("Triage").handoff_to(&billing).build();
//!
//! let graph = triage.graph();
//! assert_eq!(graph.agents().collect::<Vec<_>>(), ["Triage", "Billing"]);
//! let mermaid = graph.to_mermaid();
//! assert!(mermaid.starts_with("flowchart TD\n"));
//! assert!(mermaid.contains("\"Billing\""));
//! assert!(graph.to_dot().starts_with("digraph agents {\n"));
//! ```
//!
//! The graph is static: it shows every tool and handoff an agent declares,
//! whatever their `enabled` conditions, and a toolkit as one node (its tools
//! are known only once its session is open).

use std::collections::{HashMap, VecDeque};
use std::fmt::Write;

use crate::agent::Agent;

/// What a node of an [`AgentGraph`] stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NodeKind {
    /// Where a run starts.
    Start,
    /// Where a run ends, with a final output.
    End,
    /// An agent.
    Agent,
    /// A tool of an agent.
    Tool,
    /// A toolkit of an agent (an MCP server, say).
    Toolkit,
}

/// What an edge of an [`AgentGraph`] stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EdgeKind {
    /// The run starts at this agent.
    Start,
    /// The agent can give a final output.
    End,
    /// A handoff, labelled with its tool name.
    Handoff,
    /// The agent can call the tool (and gets its output back).
    Tool,
    /// The agent uses the toolkit's tools.
    Toolkit,
}

/// A node: an agent, a tool, a toolkit, or the start or the end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Stable identifier within the graph (`n0`, `n1`, ...).
    pub id: String,
    /// The name shown.
    pub label: String,
    /// What it stands for.
    pub kind: NodeKind,
}

/// A directed edge between two nodes, by id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    /// The id of the source node.
    pub from: String,
    /// The id of the target node.
    pub to: String,
    /// What it stands for.
    pub kind: EdgeKind,
    /// A label (the handoff's tool name), if any.
    pub label: Option<String>,
}

/// The agents reachable from a starting agent through handoffs, with their
/// tools and toolkits. Built by [`Agent::graph`]; agents are identified by
/// name, as in a run state, so an agent reached twice is one node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentGraph {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
}

impl<C> Agent<C> {
    /// The graph of this agent and of every agent it can hand off to,
    /// breadth first, with their tools and toolkits.
    pub fn graph(&self) -> AgentGraph {
        AgentGraph::of(self)
    }
}

impl AgentGraph {
    /// The graph of `start`; see [`Agent::graph`].
    pub fn of<C>(start: &Agent<C>) -> Self {
        let mut graph = AgentGraph::default();
        let start_id = graph.add_node("__start__", NodeKind::Start);
        let end_id = graph.add_node("__end__", NodeKind::End);
        let mut agent_ids: HashMap<String, String> = HashMap::new();
        let mut queue = VecDeque::new();

        let root_id = graph.add_node(start.name(), NodeKind::Agent);
        agent_ids.insert(start.name().to_owned(), root_id.clone());
        graph.add_edge(&start_id, &root_id, EdgeKind::Start, None);
        queue.push_back((start.clone(), root_id));

        while let Some((agent, id)) = queue.pop_front() {
            for tool in agent.tools() {
                let tool_id = graph.add_node(tool.name(), NodeKind::Tool);
                graph.add_edge(&id, &tool_id, EdgeKind::Tool, None);
            }
            for toolkit in agent.toolkits() {
                let toolkit_id = graph.add_node(toolkit.name(), NodeKind::Toolkit);
                graph.add_edge(&id, &toolkit_id, EdgeKind::Toolkit, None);
            }
            for handoff in agent.handoffs() {
                let target = handoff.agent();
                let target_id = match agent_ids.get(target.name()) {
                    Some(existing) => existing.clone(),
                    None => {
                        let new_id = graph.add_node(target.name(), NodeKind::Agent);
                        agent_ids.insert(target.name().to_owned(), new_id.clone());
                        queue.push_back((target.clone(), new_id.clone()));
                        new_id
                    }
                };
                graph.add_edge(
                    &id,
                    &target_id,
                    EdgeKind::Handoff,
                    Some(handoff.tool_name.clone()),
                );
            }
            if agent.handoffs().is_empty() {
                graph.add_edge(&id, &end_id, EdgeKind::End, None);
            }
        }
        graph
    }

    fn add_node(&mut self, label: &str, kind: NodeKind) -> String {
        let id = format!("n{}", self.nodes.len());
        self.nodes.push(Node {
            id: id.clone(),
            label: label.to_owned(),
            kind,
        });
        id
    }

    fn add_edge(&mut self, from: &str, to: &str, kind: EdgeKind, label: Option<String>) {
        self.edges.push(Edge {
            from: from.to_owned(),
            to: to.to_owned(),
            kind,
            label,
        });
    }

    /// Every node, in the order found: start, end, then agents breadth first,
    /// each followed by its tools and toolkits.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Every edge.
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// The agents' names, breadth first from the starting agent.
    pub fn agents(&self) -> impl Iterator<Item = &str> {
        self.nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Agent)
            .map(|n| n.label.as_str())
    }

    /// The graph as a Mermaid flowchart: agents as boxes, tools as rounded
    /// nodes, toolkits as hexagons, handoffs as labelled arrows and tool
    /// calls as dotted arrows.
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart TD\n");
        for node in &self.nodes {
            let label = mermaid_text(&node.label);
            let (open, close) = match node.kind {
                NodeKind::Start | NodeKind::End => ("([", "])"),
                NodeKind::Agent => ("[", "]"),
                NodeKind::Tool => ("(", ")"),
                NodeKind::Toolkit => ("{{", "}}"),
            };
            let _ = writeln!(out, "    {}{open}\"{label}\"{close}", node.id);
        }
        for edge in &self.edges {
            let arrow = match edge.kind {
                EdgeKind::Tool | EdgeKind::Toolkit => "-.->",
                _ => "-->",
            };
            match &edge.label {
                Some(label) => {
                    let _ = writeln!(
                        out,
                        "    {} {arrow}|\"{}\"| {}",
                        edge.from,
                        mermaid_text(label),
                        edge.to
                    );
                }
                None => {
                    let _ = writeln!(out, "    {} {arrow} {}", edge.from, edge.to);
                }
            }
        }
        out
    }

    /// The graph in Graphviz DOT: agents as boxes, tools as ellipses,
    /// toolkits as hexagons, tool calls dashed.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph agents {\n    rankdir=TB;\n");
        for node in &self.nodes {
            let shape = match node.kind {
                NodeKind::Start | NodeKind::End => "circle",
                NodeKind::Agent => "box",
                NodeKind::Tool => "ellipse",
                NodeKind::Toolkit => "hexagon",
            };
            let _ = writeln!(
                out,
                "    {} [label=\"{}\", shape={shape}];",
                node.id,
                dot_text(&node.label)
            );
        }
        for edge in &self.edges {
            let mut attributes = Vec::new();
            if let Some(label) = &edge.label {
                attributes.push(format!("label=\"{}\"", dot_text(label)));
            }
            if matches!(edge.kind, EdgeKind::Tool | EdgeKind::Toolkit) {
                attributes.push("style=dashed".to_owned());
            }
            if attributes.is_empty() {
                let _ = writeln!(out, "    {} -> {};", edge.from, edge.to);
            } else {
                let _ = writeln!(
                    out,
                    "    {} -> {} [{}];",
                    edge.from,
                    edge.to,
                    attributes.join(", ")
                );
            }
        }
        out.push_str("}\n");
        out
    }
}

/// Text inside a quoted Mermaid label: quotes and line breaks as entities.
fn mermaid_text(text: &str) -> String {
    text.replace('"', "#quot;").replace('\n', " ")
}

/// Text inside a quoted DOT string.
fn dot_text(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tool::{FunctionTool, NoArgs, ToolContext};

    fn tool(name: &str) -> FunctionTool<(), NoArgs> {
        FunctionTool::new(name, "A tool.", |_: ToolContext, _: NoArgs| async {
            Ok::<_, String>("ok")
        })
    }

    /// Triage hands off to Billing and Refunds; Refunds hands off to Billing
    /// too, which appears once.
    fn support() -> Agent {
        let billing: Agent = Agent::builder("Billing").tool(tool("invoice")).build();
        let refunds: Agent = Agent::builder("Refunds \"desk\"")
            .tool(tool("refund"))
            .handoff_to(&billing)
            .build();
        Agent::builder("Triage")
            .tool(tool("lookup"))
            .handoff_to(&billing)
            .handoff_to(&refunds)
            .build()
    }

    #[test]
    fn mermaid_shows_agents_tools_and_handoffs_once() {
        let expected = "flowchart TD
    n0([\"__start__\"])
    n1([\"__end__\"])
    n2[\"Triage\"]
    n3(\"lookup\")
    n4[\"Billing\"]
    n5[\"Refunds #quot;desk#quot;\"]
    n6(\"invoice\")
    n7(\"refund\")
    n0 --> n2
    n2 -.-> n3
    n2 -->|\"transfer_to_billing\"| n4
    n2 -->|\"transfer_to_refunds_desk\"| n5
    n4 -.-> n6
    n4 --> n1
    n5 -.-> n7
    n5 -->|\"transfer_to_billing\"| n4
";
        assert_eq!(support().graph().to_mermaid(), expected);
    }

    #[test]
    fn dot_escapes_labels_and_dashes_tool_edges() {
        let dot = support().graph().to_dot();
        assert!(dot.starts_with("digraph agents {\n"), "{dot}");
        assert!(dot.ends_with("}\n"), "{dot}");
        assert!(
            dot.contains("n5 [label=\"Refunds \\\"desk\\\"\", shape=box];"),
            "{dot}"
        );
        assert!(dot.contains("n2 -> n3 [style=dashed];"), "{dot}");
        assert!(
            dot.contains("n2 -> n4 [label=\"transfer_to_billing\"];"),
            "{dot}"
        );
        assert!(dot.contains("n4 -> n1;"), "{dot}");
    }

    #[test]
    fn agents_are_listed_breadth_first_and_deduplicated() {
        let graph = support().graph();
        assert_eq!(
            graph.agents().collect::<Vec<_>>(),
            ["Triage", "Billing", "Refunds \"desk\""]
        );
        let handoffs = graph
            .edges()
            .iter()
            .filter(|e| e.kind == EdgeKind::Handoff)
            .count();
        assert_eq!(handoffs, 3);
    }
}
