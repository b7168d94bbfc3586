//! The OCSF 1.8.0 classes warden's export uses, written down from the schema
//! (`github.com/ocsf/ocsf-schema`, tag v1.8.0: `events/base_event.json`, the category files
//! `events/application/application.json`, `events/findings/finding.json`,
//! `events/iam/iam.json`, the four class files, `profiles/*.json`, `objects/*.json` and the
//! enums of `dictionary.json`), and a checker that holds a record to them: required attributes,
//! no attribute the class (with the profiles the record declares) does not define, enum values
//! with their captions, `type_uid`, and the required attributes and `at_least_one` constraints
//! of every object used.
#![allow(dead_code)]

use serde_json::{Map, Value};

/// Attributes every class has (`base_event.json`).
const BASE: &[&str] = &[
    "activity_id",
    "activity_name",
    "category_name",
    "category_uid",
    "class_name",
    "class_uid",
    "count",
    "duration",
    "end_time",
    "enrichments",
    "message",
    "metadata",
    "observables",
    "raw_data",
    "raw_data_hash",
    "raw_data_size",
    "severity",
    "severity_id",
    "start_time",
    "status",
    "status_code",
    "status_detail",
    "status_id",
    "time",
    "timezone_offset",
    "type_name",
    "type_uid",
    "unmapped",
];
const BASE_REQUIRED: &[&str] = &[
    "activity_id",
    "category_uid",
    "class_uid",
    "metadata",
    "severity_id",
    "time",
    "type_uid",
];
/// Profiles `base_event.json` includes, and what each adds.
const PROFILES: &[(&str, &[&str])] = &[
    ("cloud", &["api", "cloud"]),
    ("datetime", &[]),
    ("host", &["actor", "device"]),
    ("osint", &["osint"]),
    (
        "security_control",
        &[
            "action",
            "action_id",
            "attacks",
            "authorizations",
            "confidence",
            "confidence_id",
            "confidence_score",
            "disposition",
            "disposition_id",
            "firewall_rule",
            "is_alert",
            "malware",
            "malware_scan_info",
            "policy",
            "risk_details",
            "risk_level",
            "risk_level_id",
            "risk_score",
        ],
    ),
];

pub struct Class {
    pub uid: u64,
    pub name: &'static str,
    pub category: (u64, &'static str),
    /// The class's activities beside Unknown (0) and Other (99).
    pub activities: &'static [(u64, &'static str)],
    /// Required beyond the base's.
    pub required: &'static [&'static str],
    /// Defined beyond the base's (category and class).
    pub attributes: &'static [&'static str],
    /// Profiles the class includes beyond the base's.
    pub profiles: &'static [(&'static str, &'static [&'static str])],
    /// `status_id` values with captions (Finding redefines them).
    pub statuses: &'static [(u64, &'static str)],
}

const STATUS: &[(u64, &str)] = &[
    (0, "Unknown"),
    (1, "Success"),
    (2, "Failure"),
    (99, "Other"),
];

pub const CLASSES: &[Class] = &[
    Class {
        uid: 0,
        name: "Base Event",
        category: (0, "Uncategorized"),
        activities: &[],
        required: &[],
        attributes: &[],
        profiles: &[],
        statuses: STATUS,
    },
    Class {
        uid: 6003,
        name: "API Activity",
        category: (6, "Application Activity"),
        activities: &[(1, "Create"), (2, "Read"), (3, "Update"), (4, "Delete")],
        required: &["actor", "api", "src_endpoint"],
        attributes: &[
            "actor",
            "api",
            "dst_endpoint",
            "http_request",
            "http_response",
            "resources",
            "src_endpoint",
        ],
        profiles: &[
            ("trace", &["trace"]),
            ("ai_operation", &["ai_model", "message_context"]),
        ],
        statuses: STATUS,
    },
    Class {
        uid: 6002,
        name: "Application Lifecycle",
        category: (6, "Application Activity"),
        activities: &[
            (1, "Install"),
            (2, "Remove"),
            (3, "Start"),
            (4, "Stop"),
            (5, "Restart"),
            (6, "Enable"),
            (7, "Disable"),
            (8, "Update"),
        ],
        required: &["app"],
        attributes: &["app"],
        profiles: &[],
        statuses: STATUS,
    },
    Class {
        uid: 2004,
        name: "Detection Finding",
        category: (2, "Findings"),
        activities: &[(1, "Create"), (2, "Update"), (3, "Close")],
        required: &["finding_info"],
        attributes: &[
            // finding.json
            "comment",
            "confidence",
            "confidence_id",
            "confidence_score",
            "device",
            "finding_info",
            "vendor_attributes",
            // detection_finding.json
            "anomaly_analyses",
            "evidences",
            "impact",
            "impact_id",
            "impact_score",
            "is_alert",
            "malware",
            "malware_scan_info",
            "remediation",
            "resources",
            "risk_details",
            "risk_level",
            "risk_level_id",
            "risk_score",
            "vulnerabilities",
        ],
        profiles: &[(
            "incident",
            &[
                "assignee",
                "assignee_group",
                "impact",
                "impact_id",
                "impact_score",
                "is_suspected_breach",
                "priority",
                "priority_id",
                "src_url",
                "ticket",
                "tickets",
                "verdict",
                "verdict_id",
            ],
        )],
        statuses: &[
            (0, "Unknown"),
            (1, "New"),
            (2, "In Progress"),
            (3, "Suppressed"),
            (4, "Resolved"),
            (5, "Archived"),
            (6, "Deleted"),
            (99, "Other"),
        ],
    },
    Class {
        uid: 3004,
        name: "Entity Management",
        category: (3, "Identity & Access Management"),
        activities: &[
            (1, "Create"),
            (2, "Read"),
            (3, "Update"),
            (4, "Delete"),
            (5, "Move"),
            (6, "Enroll"),
            (7, "Unenroll"),
            (8, "Enable"),
            (9, "Disable"),
            (10, "Activate"),
            (11, "Deactivate"),
            (12, "Suspend"),
            (13, "Resume"),
        ],
        required: &["entity"],
        attributes: &[
            // iam.json
            "actor",
            "http_request",
            "http_response",
            "src_endpoint",
            // entity_management.json
            "access_list",
            "access_mask",
            "comment",
            "entity",
            "entity_result",
        ],
        profiles: &[],
        statuses: STATUS,
    },
];

const SEVERITY: &[(u64, &str)] = &[
    (0, "Unknown"),
    (1, "Informational"),
    (2, "Low"),
    (3, "Medium"),
    (4, "High"),
    (5, "Critical"),
    (6, "Fatal"),
    (99, "Other"),
];
const ACTION: &[u64] = &[0, 1, 2, 3, 4, 99];
const DISPOSITION: &[u64] = &[
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
    26, 27, 99,
];

const METADATA: &[&str] = &[
    "correlation_uid",
    "debug",
    "event_code",
    "extension",
    "extensions",
    "is_truncated",
    "labels",
    "log_format",
    "log_level",
    "log_name",
    "log_provider",
    "log_source",
    "log_version",
    "logged_time",
    "loggers",
    "modified_time",
    "original_event_uid",
    "original_time",
    "processed_time",
    "product",
    "profiles",
    "reporter",
    "sequence",
    "source",
    "tags",
    "tenant_uid",
    "total_queued_duration",
    "transformation_info_list",
    "transmit_time",
    "type",
    "uid",
    "untruncated_size",
    "version",
];
const PRODUCT: &[&str] = &[
    "cpe_name",
    "feature",
    "lang",
    "name",
    "path",
    "uid",
    "url_string",
    "vendor_name",
    "version",
];
const ACTOR: &[&str] = &[
    "app_name",
    "app_uid",
    "authorizations",
    "idp",
    "invoked_by",
    "process",
    "session",
    "user",
];
const USER: &[&str] = &[
    "account",
    "credential_uid",
    "display_name",
    "domain",
    "email_addr",
    "forward_addr",
    "full_name",
    "groups",
    "has_mfa",
    "ldap_person",
    "name",
    "org",
    "phone_number",
    "programmatic_credentials",
    "risk_level",
    "risk_level_id",
    "risk_score",
    "type",
    "type_id",
    "uid",
    "uid_alt",
];
const SESSION: &[&str] = &[
    "count",
    "created_time",
    "credential_uid",
    "expiration_reason",
    "expiration_time",
    "is_mfa",
    "is_remote",
    "is_vpn",
    "issuer",
    "terminal",
    "uid",
    "uid_alt",
    "uuid",
];
const API: &[&str] = &[
    "group",
    "operation",
    "request",
    "response",
    "service",
    "token",
    "version",
];
const REQUEST: &[&str] = &["containers", "data", "flags", "uid"];
const SERVICE: &[&str] = &["labels", "name", "tags", "uid", "version"];
const NETWORK_ENDPOINT: &[&str] = &[
    "agent_list",
    "domain",
    "hostname",
    "hw_info",
    "instance_uid",
    "interface_name",
    "interface_uid",
    "ip",
    "location",
    "mac",
    "mac_vendor",
    "name",
    "os",
    "owner",
    "pool",
    "subnet_uid",
    "type",
    "type_id",
    "uid",
    "vlan_uid",
    "vpc_uid",
    "zone",
    "autonomous_system",
    "fingerprints",
    "intermediate_ips",
    "isp",
    "isp_org",
    "network_scope",
    "network_scope_id",
    "port",
    "proxy_endpoint",
    "svc_name",
];
const POLICY: &[&str] = &[
    "data",
    "desc",
    "group",
    "is_applied",
    "name",
    "type",
    "uid",
    "version",
];
const FINDING_INFO: &[&str] = &[
    "analytic",
    "attack_graph",
    "attacks",
    "created_time",
    "data_sources",
    "desc",
    "first_seen_time",
    "kill_chain",
    "last_seen_time",
    "modified_time",
    "product",
    "product_uid",
    "related_analytics",
    "related_events",
    "related_events_count",
    "src_url",
    "tags",
    "title",
    "traits",
    "types",
    "uid",
    "uid_alt",
];
const ANALYTIC: &[&str] = &[
    "algorithm",
    "category",
    "desc",
    "name",
    "related_analytics",
    "state",
    "state_id",
    "type",
    "type_id",
    "uid",
    "version",
];
const EVIDENCES: &[&str] = &[
    "actor",
    "api",
    "connection_info",
    "container",
    "data",
    "database",
    "databucket",
    "device",
    "dst_endpoint",
    "email",
    "file",
    "http_request",
    "http_response",
    "ja4_fingerprint_list",
    "job",
    "name",
    "process",
    "query",
    "resources",
    "script",
    "src_endpoint",
    "tls",
    "uid",
    "url",
    "user",
    "verdict",
    "verdict_id",
];
const MANAGED_ENTITY: &[&str] = &[
    "data", "device", "email", "group", "location", "name", "org", "policy", "type", "type_id",
    "uid", "user", "version",
];
const AUTHORIZATION: &[&str] = &["decision", "policy"];

/// Everything wrong with `r` as an OCSF 1.8.0 record; empty when it is valid.
pub fn problems(r: &Value) -> Vec<String> {
    let mut p = Vec::new();
    let Some(o) = r.as_object() else {
        return vec!["not an object".into()];
    };
    let uint = |k: &str| o.get(k).and_then(Value::as_u64);
    let Some(class_uid) = uint("class_uid") else {
        return vec!["no class_uid".into()];
    };
    let Some(class) = CLASSES.iter().find(|c| c.uid == class_uid) else {
        return vec![format!("class {class_uid} is not one this checker knows")];
    };
    let at = |what: &str| format!("{} ({class_uid}): {what}", class.name);
    for k in BASE_REQUIRED.iter().chain(class.required) {
        if !o.contains_key(*k) {
            p.push(at(&format!("required `{k}` missing")));
        }
    }
    // Profiles: those the record declares must be the base's or the class's.
    let declared: Vec<&str> = o
        .get("metadata")
        .and_then(|m| m.get("profiles"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut allowed: Vec<&str> = BASE.iter().chain(class.attributes).copied().collect();
    for name in &declared {
        match PROFILES
            .iter()
            .chain(class.profiles)
            .find(|(n, _)| n == name)
        {
            Some((_, attrs)) => allowed.extend(attrs.iter().copied()),
            None => p.push(at(&format!(
                "profile `{name}` does not apply to this class"
            ))),
        }
    }
    for k in o.keys() {
        if !allowed.contains(&k.as_str()) {
            p.push(at(&format!(
                "`{k}` is not an attribute of the class or a declared profile"
            )));
        }
    }
    // Category, class, activity, type.
    if uint("category_uid") != Some(class.category.0) {
        p.push(at("wrong category_uid"));
    }
    if o.get("category_name")
        .is_some_and(|n| n != class.category.1)
    {
        p.push(at("wrong category_name"));
    }
    if o.get("class_name").is_some_and(|n| n != class.name) {
        p.push(at("wrong class_name"));
    }
    let activity = uint("activity_id");
    match activity {
        Some(0) | Some(99) => {}
        Some(a) => match class.activities.iter().find(|(id, _)| *id == a) {
            Some((_, caption)) => {
                if o.get("activity_name").is_some_and(|n| n != caption) {
                    p.push(at(&format!("activity_name of {a} is not `{caption}`")));
                }
            }
            None => p.push(at(&format!("activity_id {a} is not in the class's enum"))),
        },
        None => p.push(at("activity_id is not an integer")),
    }
    if let Some(a) = activity
        && uint("type_uid") != Some(class_uid * 100 + a)
    {
        p.push(at("type_uid is not class_uid * 100 + activity_id"));
    }
    enum_caption(&mut p, &at, o, "severity_id", "severity", SEVERITY);
    enum_caption(&mut p, &at, o, "status_id", "status", class.statuses);
    if o.contains_key("action_id") && !uint("action_id").is_some_and(|a| ACTION.contains(&a)) {
        p.push(at("action_id not in its enum"));
    }
    if o.contains_key("disposition_id")
        && !uint("disposition_id").is_some_and(|d| DISPOSITION.contains(&d))
    {
        p.push(at("disposition_id not in its enum"));
    }
    if !o.get("time").is_some_and(Value::is_i64) {
        p.push(at("time is not a timestamp (integer milliseconds)"));
    }
    if o.contains_key("is_alert") && !o.get("is_alert").is_some_and(Value::is_boolean) {
        p.push(at("is_alert is not a boolean"));
    }
    // Objects.
    let mut obj = |key: &str, attrs: &[&str], required: &[&str], one_of: &[&str]| {
        if let Some(v) = o.get(key) {
            object(
                &mut p,
                &format!("{} ({class_uid}).{key}", class.name),
                v,
                attrs,
                required,
                one_of,
            );
        }
    };
    obj("metadata", METADATA, &["product", "version"], &[]);
    obj(
        "actor",
        ACTOR,
        &[],
        &[
            "process",
            "user",
            "invoked_by",
            "session",
            "app_name",
            "app_uid",
        ],
    );
    obj("api", API, &["operation"], &[]);
    obj(
        "src_endpoint",
        NETWORK_ENDPOINT,
        &[],
        &[
            "ip",
            "uid",
            "name",
            "hostname",
            "svc_name",
            "instance_uid",
            "interface_uid",
            "interface_name",
            "domain",
        ],
    );
    obj(
        "dst_endpoint",
        NETWORK_ENDPOINT,
        &[],
        &[
            "ip",
            "uid",
            "name",
            "hostname",
            "svc_name",
            "instance_uid",
            "interface_uid",
            "interface_name",
            "domain",
        ],
    );
    obj("policy", POLICY, &[], &["name", "type", "uid"]);
    obj("finding_info", FINDING_INFO, &["uid"], &[]);
    obj(
        "entity",
        MANAGED_ENTITY,
        &[],
        &["name", "uid", "device", "group", "org", "policy", "user"],
    );
    obj(
        "entity_result",
        MANAGED_ENTITY,
        &[],
        &["name", "uid", "device", "group", "org", "policy", "user"],
    );
    obj("app", PRODUCT, &[], &["name", "uid"]);
    // Nested objects.
    let nested = |path: &str| r.pointer(path);
    let mut check = |path: &str, attrs: &[&str], required: &[&str], one_of: &[&str]| {
        if let Some(v) = nested(path) {
            object(
                &mut p,
                &format!("{} ({class_uid}){path}", class.name),
                v,
                attrs,
                required,
                one_of,
            );
        }
    };
    check("/metadata/product", PRODUCT, &[], &["name", "uid"]);
    check("/actor/user", USER, &[], &["account", "name", "uid"]);
    check("/actor/session", SESSION, &[], &[]);
    check("/api/request", REQUEST, &["uid"], &[]);
    check("/api/service", SERVICE, &[], &["name", "uid"]);
    check("/finding_info/analytic", ANALYTIC, &["type_id"], &[]);
    check(
        "/policy/group",
        &[
            "desc",
            "domain",
            "name",
            "privileges",
            "type",
            "uid",
            "uid_alt",
        ],
        &[],
        &["name", "uid"],
    );
    if let Some(t) = nested("/actor/user/type_id")
        && !t.as_u64().is_some_and(|t| [0, 1, 2, 3, 4, 99].contains(&t))
    {
        p.push(at("actor.user.type_id not in its enum"));
    }
    if let Some(t) = nested("/finding_info/analytic/type_id")
        && !t.as_u64().is_some_and(|t| t <= 11 || t == 99)
    {
        p.push(at("analytic.type_id not in its enum"));
    }
    if o.get("metadata").and_then(|m| m.get("version")) != Some(&Value::from("1.8.0")) {
        p.push(at("metadata.version is not 1.8.0"));
    }
    for (i, e) in o
        .get("evidences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        object(
            &mut p,
            &format!("{} ({class_uid}).evidences[{i}]", class.name),
            e,
            EVIDENCES,
            &[],
            &[
                "actor",
                "api",
                "connection_info",
                "data",
                "database",
                "databucket",
                "device",
                "dst_endpoint",
                "email",
                "file",
                "process",
                "query",
                "resources",
                "src_endpoint",
                "url",
                "user",
                "job",
                "script",
            ],
        );
    }
    for (i, a) in o
        .get("authorizations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        object(
            &mut p,
            &format!("{} ({class_uid}).authorizations[{i}]", class.name),
            a,
            AUTHORIZATION,
            &[],
            &[],
        );
    }
    p
}

fn enum_caption(
    p: &mut Vec<String>,
    at: &dyn Fn(&str) -> String,
    o: &Map<String, Value>,
    id: &str,
    caption: &str,
    values: &[(u64, &str)],
) {
    let Some(v) = o.get(id) else { return };
    match v
        .as_u64()
        .and_then(|v| values.iter().find(|(i, _)| *i == v))
    {
        None => p.push(at(&format!("{id} {v} not in its enum"))),
        Some((i, c)) => {
            if *i != 99 && o.get(caption).is_some_and(|n| n != c) {
                p.push(at(&format!("{caption} of {id} {i} is not `{c}`")));
            }
        }
    }
}

fn object(
    p: &mut Vec<String>,
    at: &str,
    v: &Value,
    attrs: &[&str],
    required: &[&str],
    one_of: &[&str],
) {
    let Some(o) = v.as_object() else {
        p.push(format!("{at}: not an object"));
        return;
    };
    for k in o.keys() {
        if !attrs.contains(&k.as_str()) {
            p.push(format!("{at}: `{k}` is not an attribute of the object"));
        }
    }
    for k in required {
        if !o.contains_key(*k) {
            p.push(format!("{at}: required `{k}` missing"));
        }
    }
    if !one_of.is_empty() && !one_of.iter().any(|k| o.contains_key(*k)) {
        p.push(format!("{at}: needs at least one of {one_of:?}"));
    }
}
