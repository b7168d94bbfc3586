//! Claude Code's own tools (`Bash`, `Write`, `WebFetch`…) as warden tools: the built-in
//! catalog behind `[claude_code]`.
//!
//! Claude Code runs these tools itself; warden sees them through its hooks (`PreToolUse`,
//! `PostToolUse`). Each becomes `claude.<tool>` with labels warden owns (Claude Code asserts
//! none) and typed arguments, so the same Cedar policies, budgets, taint, halts and floor decide
//! them as any MCP tool. The design choice for what is not in the catalog: any other tool name
//! (a new built-in, a plugin's tool) is `claude.other`, labelled a critical irreversible write,
//! whose only declared argument is the tool's name, so any input it carries is an undeclared
//! argument and the call is denied before policy runs — unknown means refused, never allowed.

use crate::config::{ArgSpec, ResultMode, ToolSpec};
use crate::engine::ArgType;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use warden_core::{Effect, Stakes, ToolLabels, ToolName};

/// The server name the built-in tools live under: `claude.bash`.
pub const SERVER: &str = "claude";
/// The catalog entry for every tool name the catalog does not know.
pub const OTHER: &str = "other";
/// The default category of the built-in tools (it needs an owner in `[owners]`).
pub const DEFAULT_CATEGORY: &str = "claude-code";

/// One built-in tool: Claude Code's name for it, warden's, its labels and arguments.
pub struct Builtin {
    /// As Claude Code's hooks name it (`tool_name`).
    pub claude: &'static str,
    /// `claude.<tool>`.
    pub tool: &'static str,
    pub effect: Effect,
    pub reversible: bool,
    pub stakes: Stakes,
    /// Argument names and types, as `[servers.*.tools.*] args` would declare them; `{roots}`
    /// stands for the configured write roots.
    pub args: &'static [(&'static str, &'static str)],
}

/// The catalog. Argument names are Claude Code's `tool_input` fields.
pub const BUILTINS: &[Builtin] = &[
    Builtin {
        claude: "Bash",
        tool: "bash",
        effect: Effect::Write,
        reversible: false,
        stakes: Stakes::High,
        args: &[
            ("command", "{command}"),
            ("description", "string?"),
            ("timeout", "long?"),
            ("run_in_background", "bool?"),
            ("dangerouslyDisableSandbox", "bool?"),
        ],
    },
    Builtin {
        claude: "Write",
        tool: "write",
        effect: Effect::Write,
        reversible: true,
        stakes: Stakes::Low,
        args: &[("file_path", "path:/"), ("content", "text")],
    },
    Builtin {
        claude: "Edit",
        tool: "edit",
        effect: Effect::Write,
        reversible: true,
        stakes: Stakes::Low,
        args: &[
            ("file_path", "path:/"),
            ("old_string", "string"),
            ("new_string", "text"),
            ("replace_all", "bool?"),
        ],
    },
    Builtin {
        claude: "NotebookEdit",
        tool: "notebook_edit",
        effect: Effect::Write,
        reversible: true,
        stakes: Stakes::Low,
        args: &[
            ("notebook_path", "path:/"),
            ("new_source", "text"),
            ("cell_id", "string?"),
            ("cell_type", "enum:code|markdown?"),
            ("edit_mode", "enum:replace|insert|delete?"),
        ],
    },
    Builtin {
        claude: "Read",
        tool: "read",
        effect: Effect::Read,
        reversible: true,
        stakes: Stakes::Low,
        args: &[
            ("file_path", "path:/"),
            ("offset", "long?"),
            ("limit", "long?"),
            ("pages", "string?"),
        ],
    },
    Builtin {
        claude: "Glob",
        tool: "glob",
        effect: Effect::Read,
        reversible: true,
        stakes: Stakes::Low,
        // The pattern is matched below `path`, which policy bounds; an absolute or climbing
        // one would list files anywhere.
        args: &[("pattern", "glob"), ("path", "path:/?")],
    },
    Builtin {
        claude: "Grep",
        tool: "grep",
        effect: Effect::Read,
        reversible: true,
        stakes: Stakes::Low,
        args: &[
            ("pattern", "string"),
            ("path", "path:/?"),
            ("glob", "glob?"),
            ("type", "string?"),
            ("output_mode", "enum:content|files_with_matches|count?"),
            ("-i", "bool?"),
            ("-n", "bool?"),
            ("-A", "long?"),
            ("-B", "long?"),
            ("-C", "long?"),
            ("head_limit", "long?"),
            ("offset", "long?"),
            ("multiline", "bool?"),
        ],
    },
    Builtin {
        claude: "WebFetch",
        tool: "web_fetch",
        effect: Effect::Read,
        reversible: true,
        stakes: Stakes::Low,
        // The prompt is free text the agent writes: screened outbound as a message is.
        args: &[("url", "url"), ("prompt", "text?")],
    },
    Builtin {
        claude: "WebSearch",
        tool: "web_search",
        effect: Effect::Read,
        reversible: true,
        stakes: Stakes::Low,
        args: &[
            ("query", "text"),
            ("allowed_domains", "set<string>?"),
            ("blocked_domains", "set<string>?"),
        ],
    },
    Builtin {
        claude: "Task",
        tool: "task",
        effect: Effect::Write,
        reversible: true,
        stakes: Stakes::Low,
        args: &[
            ("description", "string"),
            ("prompt", "text"),
            ("subagent_type", "string?"),
            ("model", "string?"),
            ("run_in_background", "bool?"),
            ("resume", "string?"),
        ],
    },
    Builtin {
        claude: "BashOutput",
        tool: "bash_output",
        effect: Effect::Read,
        reversible: true,
        stakes: Stakes::Low,
        args: &[("bash_id", "string"), ("filter", "string?")],
    },
    Builtin {
        claude: "KillShell",
        tool: "kill_shell",
        effect: Effect::Write,
        reversible: true,
        stakes: Stakes::Low,
        args: &[("shell_id", "string")],
    },
    // The subagent tool (`Task` before it was renamed): a subagent's own tool calls come
    // through the same hooks and are decided one by one.
    Builtin {
        claude: "Agent",
        tool: "agent",
        effect: Effect::Write,
        reversible: true,
        stakes: Stakes::Low,
        args: &[
            ("description", "string"),
            ("prompt", "text"),
            ("subagent_type", "string?"),
            ("model", "string?"),
            ("run_in_background", "bool?"),
            ("resume", "string?"),
            ("isolation", "string?"),
        ],
    },
    // `BashOutput` and `KillShell` as renamed: read a background task's output, stop it.
    Builtin {
        claude: "TaskOutput",
        tool: "task_output",
        effect: Effect::Read,
        reversible: true,
        stakes: Stakes::Low,
        args: &[
            ("task_id", "string"),
            ("block", "bool?"),
            ("timeout", "long?"),
        ],
    },
    Builtin {
        claude: "TaskStop",
        tool: "task_stop",
        effect: Effect::Write,
        reversible: true,
        stakes: Stakes::Low,
        args: &[("task_id", "string?"), ("shell_id", "string?")],
    },
    Builtin {
        claude: "",
        tool: OTHER,
        effect: Effect::Write,
        reversible: false,
        stakes: Stakes::Critical,
        args: &[("tool", "string")],
    },
];

/// Labels that replace a built-in tool's (`[claude_code.tools.<tool>]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelOverride {
    pub effect: Option<Effect>,
    pub reversible: Option<bool>,
    pub stakes: Option<Stakes>,
    pub category: Option<String>,
    pub owner: Option<String>,
}

/// The catalog entry Claude Code's `tool_name` falls under.
pub fn builtin_for(claude_tool_name: &str) -> &'static Builtin {
    BUILTINS
        .iter()
        .find(|b| !b.claude.is_empty() && b.claude == claude_tool_name)
        .or_else(|| BUILTINS.iter().find(|b| b.tool == OTHER))
        .unwrap_or(&OTHER_FALLBACK)
}

/// Unreachable in practice (`BUILTINS` holds `other`); keeps [`builtin_for`] total without a
/// panic.
const OTHER_FALLBACK: Builtin = Builtin {
    claude: "",
    tool: OTHER,
    effect: Effect::Write,
    reversible: false,
    stakes: Stakes::Critical,
    args: &[("tool", "string")],
};

/// The warden call for a hook's `tool_name` and `tool_input`: the tool, and its arguments
/// (`tool_input` as given; for `claude.other`, the tool's name added as `tool`). A `tool_input`
/// that is not an object is kept under `input`, which no tool declares: the call is denied.
pub fn call_for(claude_tool_name: &str, tool_input: &Value) -> (ToolName, Map<String, Value>) {
    let builtin = builtin_for(claude_tool_name);
    let mut args = match tool_input {
        Value::Object(m) => m.clone(),
        Value::Null => Map::new(),
        other => Map::from_iter([("input".to_string(), other.clone())]),
    };
    if builtin.tool == OTHER {
        args.insert("tool".into(), Value::String(claude_tool_name.to_string()));
    }
    (ToolName::new(SERVER, builtin.tool), args)
}

/// The built-in tools as tool specs, with the configured category, write roots and
/// overrides; an error for an argument type that does not parse (a bad root).
pub fn specs(
    category: &str,
    write_roots: &[String],
    overrides: &BTreeMap<String, LabelOverride>,
) -> Result<Vec<ToolSpec>, String> {
    let command_type = if write_roots.is_empty() {
        "command".to_string()
    } else {
        format!("command:{}", write_roots.join("|"))
    };
    BUILTINS
        .iter()
        .map(|b| {
            let o = overrides.get(b.tool).cloned().unwrap_or_default();
            let mut args = BTreeMap::new();
            for (name, ty) in b.args {
                let ty = ty.replace("{command}", &command_type);
                let (ty, required) = ArgType::parse(&ty)?;
                args.insert((*name).to_string(), ArgSpec { ty, required });
            }
            Ok(ToolSpec {
                name: ToolName::new(SERVER, b.tool),
                // Never listed to an MCP client: Claude Code's hooks name the tool themselves.
                wire_name: ToolName::new(SERVER, b.tool).to_string(),
                labels: ToolLabels {
                    effect: o.effect.unwrap_or(b.effect),
                    reversible: o.reversible.unwrap_or(b.reversible),
                    stakes: o.stakes.unwrap_or(b.stakes),
                    category: o.category.unwrap_or_else(|| category.to_string()),
                },
                args,
                pin: None,
                description: None,
                results: ResultMode::default(),
                owner: o.owner,
                undo: None,
            })
        })
        .collect()
}

/// Whether `tool` names one of the built-in tools.
pub fn is_builtin(tool: &ToolName) -> bool {
    tool.server == SERVER
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_names_map_to_their_tool_and_unknown_ones_to_other() {
        let (t, a) = call_for("Bash", &json!({"command": "ls"}));
        assert_eq!(t.to_string(), "claude.bash");
        assert_eq!(a.get("command"), Some(&json!("ls")));
        let (t, a) = call_for("FancyNewTool", &json!({"x": 1}));
        assert_eq!(t.to_string(), "claude.other");
        assert_eq!(a.get("tool"), Some(&json!("FancyNewTool")));
        assert_eq!(a.get("x"), Some(&json!(1)));
        let (t, _) = call_for("", &json!({}));
        assert_eq!(t.to_string(), "claude.other");
    }

    /// Claude Code's current names for its subagent and background-task tools are in the
    /// catalog, with their own labels, not left to `claude.other`.
    #[test]
    fn current_tool_names_are_in_the_catalog() {
        for (claude, tool, effect) in [
            ("Agent", "agent", Effect::Write),
            ("TaskOutput", "task_output", Effect::Read),
            ("TaskStop", "task_stop", Effect::Write),
            ("Task", "task", Effect::Write),
            ("BashOutput", "bash_output", Effect::Read),
            ("KillShell", "kill_shell", Effect::Write),
        ] {
            let b = builtin_for(claude);
            assert_eq!(b.tool, tool, "{claude}");
            assert_eq!(b.effect, effect, "{claude}");
            assert_eq!(b.stakes, Stakes::Low, "{claude}");
        }
        let (t, _) = call_for("TaskStop", &json!({"task_id": "b1"}));
        assert_eq!(t.to_string(), "claude.task_stop");
    }

    #[test]
    fn every_builtin_resolves() {
        let specs = specs("claude-code", &["/cases".into()], &BTreeMap::new());
        let specs = specs.unwrap_or_default();
        assert_eq!(specs.len(), BUILTINS.len());
        let bash = specs.iter().find(|s| s.name.tool == "bash");
        assert_eq!(
            bash.and_then(|b| b.args.get("command")).map(|a| &a.ty),
            Some(&ArgType::Command(vec!["/cases".into()]))
        );
    }
}
