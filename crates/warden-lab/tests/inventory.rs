//! The lab's inventory: Cedar entities in the example config's format that follow the
//! incident tracker's state.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers outside #[test] functions fail loudly too"
)]

use std::path::Path;

use serde_json::{Value, json};
use warden_lab::{INVENTORY_FILE, LabServer, call_tool, received_calls, write_inventory};

fn inventory(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join(INVENTORY_FILE)).unwrap();
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn entity<'a>(entities: &'a [Value], ty: &str, id: &str) -> &'a Value {
    entities
        .iter()
        .find(|e| e["uid"]["type"] == ty && e["uid"]["id"] == id)
        .unwrap_or_else(|| panic!("no {ty}::{id}"))
}

fn call(dir: &Path, server: LabServer, tool: &str, arguments: Value) -> Value {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object")
    };
    call_tool(server, dir, tool, &arguments, "inventory-test")
        .unwrap()
        .unwrap_or_else(|refusal| panic!("{tool} refused: {refusal}"))
}

#[test]
fn the_seed_inventory_matches_the_example_entities() {
    let dir = tempfile::tempdir().unwrap();
    write_inventory(dir.path()).unwrap();
    let ours = inventory(dir.path());
    let example: Vec<Value> =
        serde_json::from_str(include_str!("../../../examples/soc/entities.json")).unwrap();
    let known_incidents: Vec<&Value> = example
        .iter()
        .filter(|e| e["uid"]["type"] == "Incident")
        .map(|e| &e["uid"])
        .collect();
    for theirs in &example {
        let ty = theirs["uid"]["type"].as_str().unwrap();
        let id = theirs["uid"]["id"].as_str().unwrap();
        let mine = entity(&ours, ty, id);
        // The example lists fewer incidents (not INC-1041, INC-1044): compare parents among
        // the ones it has.
        let my_parents: Vec<&Value> = mine["parents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| known_incidents.contains(p))
            .collect();
        let their_parents: Vec<&Value> = theirs["parents"].as_array().unwrap().iter().collect();
        assert_eq!(my_parents, their_parents, "{ty}::{id}");
        let attrs = theirs["attrs"].as_object().unwrap();
        let my_attrs = mine["attrs"].as_object().unwrap();
        assert_eq!(
            my_attrs.keys().collect::<Vec<_>>(),
            attrs.keys().collect::<Vec<_>>(),
            "{ty}::{id}"
        );
        for (name, value) in attrs {
            // The example abbreviates departments ("IT"); the lab's directory is the source.
            if name != "department" {
                assert_eq!(&my_attrs[name], value, "{ty}::{id}.{name}");
            }
        }
    }
    // The example's baseline is the lab's seed inventory: every host, account and incident.
    assert_eq!(ours.len(), example.len());
    assert_eq!(
        entity(&ours, "Host", "srv-jump01")["attrs"]["role"],
        "bastion"
    );
}

#[test]
fn the_inventory_follows_the_incidents() {
    let dir = tempfile::tempdir().unwrap();
    write_inventory(dir.path()).unwrap();
    assert_eq!(
        entity(&inventory(dir.path()), "Incident", "INC-1043")["attrs"],
        json!({"status": "open", "severity": "critical"})
    );

    call(
        dir.path(),
        LabServer::Tickets,
        "update_incident",
        json!({"incident": "INC-1043", "status": "contained", "severity": "high"}),
    );
    assert_eq!(
        entity(&inventory(dir.path()), "Incident", "INC-1043")["attrs"],
        json!({"status": "contained", "severity": "high"})
    );
    call(
        dir.path(),
        LabServer::Tickets,
        "close_incident",
        json!({"incident": "INC-1042", "resolution": "contained"}),
    );
    let entities = inventory(dir.path());
    assert_eq!(
        entity(&entities, "Incident", "INC-1042")["attrs"]["status"],
        "closed"
    );
    assert_eq!(
        entity(&entities, "Host", "ws-042")["parents"],
        json!([{"type": "Incident", "id": "INC-1042"}])
    );

    // Writes elsewhere, and reads, leave the inventory alone; the calls are logged first.
    let before = std::fs::read_to_string(dir.path().join(INVENTORY_FILE)).unwrap();
    call(
        dir.path(),
        LabServer::Edr,
        "isolate_host",
        json!({"host": "ws-042", "incident": "INC-1042"}),
    );
    call(dir.path(), LabServer::Tickets, "list_incidents", json!({}));
    let after = std::fs::read_to_string(dir.path().join(INVENTORY_FILE)).unwrap();
    assert_eq!(before, after);
    let tickets = received_calls(LabServer::Tickets, dir.path()).unwrap();
    assert_eq!(tickets.len(), 3);
    assert_eq!(tickets[0].tool, "update_incident");
}

#[test]
fn a_refused_in_process_call_is_still_logged() {
    let dir = tempfile::tempdir().unwrap();
    let Value::Object(arguments) = json!({"host": "DC01", "incident": "INC-1042"}) else {
        unreachable!()
    };
    let refusal = call_tool(LabServer::Edr, dir.path(), "isolate_host", &arguments, "t")
        .unwrap()
        .unwrap_err();
    assert!(refusal.contains("unknown host"), "{refusal}");
    let calls = received_calls(LabServer::Edr, dir.path()).unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].arguments["host"], "DC01");
    assert!(
        dir.path().join(INVENTORY_FILE).exists(),
        "written at the lab's first use"
    );
}
