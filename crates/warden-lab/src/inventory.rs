//! The lab's inventory as Cedar entities: what a gateway's policy knows about hosts, accounts
//! and incidents, derived from the lab's own state.
//!
//! A policy such as "isolate only hosts of an open incident" is only as good as the facts it
//! reads, and those facts change while agents work: an incident gets closed, and from then on
//! its hosts no longer belong to an open one. So the lab publishes its inventory in the format
//! of `examples/soc/entities.json` (types `Incident`, `Host`, `User`, `Alert`, `MailSystem`, same
//! attributes) and rewrites it whenever the incident tracker's or the mail system's state
//! changes; a gateway can watch the file.
//!
//! This module is the pure half: facts in, entities out. `store::write_inventory` reads the
//! state files and writes `inventory.json` atomically.

use serde_json::{Value, json};

/// The file name of the inventory inside a state directory.
pub const FILE: &str = "inventory.json";

/// An incident as the inventory sees it.
pub(crate) struct IncidentFacts<'a> {
    pub id: &'a str,
    /// `open`, `contained` or `closed`.
    pub status: &'static str,
    pub severity: &'a str,
    /// The hosts the incident names; each becomes a child of the incident.
    pub hosts: &'a [String],
    /// The accounts the incident names; each becomes a child of the incident.
    pub users: &'a [String],
    /// The SIEM alerts the incident names; each becomes a child of the incident.
    pub alerts: &'a [String],
}

/// A SIEM alert as the inventory sees it: only where it belongs. Reading an alert of an
/// incident is looking at the incident (`context.read` in warden's policy).
pub(crate) struct AlertFacts<'a> {
    pub id: &'a str,
    /// The incident the SIEM links it to, if any.
    pub incident: Option<&'a str>,
}

/// A managed host as the inventory sees it.
pub(crate) struct HostFacts<'a> {
    pub id: &'a str,
    pub tier: u8,
    /// The EDR's free-text role, e.g. `domain controller (PDC emulator, DNS)`.
    pub role: &'a str,
}

/// An account as the inventory sees it.
pub(crate) struct UserFacts<'a> {
    pub id: &'a str,
    pub executive: bool,
    pub break_glass: bool,
    pub department: &'a str,
}

/// The one mail system's id in the inventory.
pub const MAIL_SYSTEM: &str = "northwind";

/// Cedar entities: incidents, then hosts and accounts (each a child of every incident that names
/// it), then alerts (each a child of the incidents that name it or that the SIEM links it to),
/// each in the order of its server's state; then the mail system, with the addresses whose
/// mailbox forwards outside the company (`forwarding_outside`).
pub(crate) fn entities(
    incidents: &[IncidentFacts<'_>],
    hosts: &[HostFacts<'_>],
    users: &[UserFacts<'_>],
    alerts: &[AlertFacts<'_>],
    forwarding_outside: &[String],
) -> Value {
    let naming = |names: &dyn Fn(&IncidentFacts<'_>) -> bool| -> Vec<Value> {
        incidents
            .iter()
            .filter(|incident| names(incident))
            .map(|incident| json!({ "type": "Incident", "id": incident.id }))
            .collect()
    };
    let incident_entities = incidents.iter().map(|incident| {
        json!({
            "uid": { "type": "Incident", "id": incident.id },
            "attrs": { "status": incident.status, "severity": incident.severity },
            "parents": [],
        })
    });
    let host_entities = hosts.iter().map(|host| {
        let parents: Vec<Value> = incidents
            .iter()
            .filter(|incident| incident.hosts.iter().any(|h| h == host.id))
            .map(|incident| json!({ "type": "Incident", "id": incident.id }))
            .collect();
        json!({
            "uid": { "type": "Host", "id": host.id },
            "attrs": {
                "tier": host.tier,
                "role": role_kind(host.role),
                "open_incident": incidents
                    .iter()
                    .any(|incident| incident.status != "closed" && incident.hosts.iter().any(|h| h == host.id)),
            },
            "parents": parents,
        })
    });
    let user_entities = users.iter().map(|user| {
        json!({
            "uid": { "type": "User", "id": user.id },
            "attrs": {
                "executive": user.executive,
                "break_glass": user.break_glass,
                "department": user.department,
                "open_incident": incidents
                    .iter()
                    .any(|incident| incident.status != "closed" && incident.users.iter().any(|u| u == user.id)),
            },
            "parents": naming(&|incident| incident.users.iter().any(|u| u == user.id)),
        })
    });
    let alert_entities = alerts.iter().map(|alert| {
        json!({
            "uid": { "type": "Alert", "id": alert.id },
            "attrs": {},
            "parents": naming(&|incident| {
                incident.alerts.iter().any(|a| a == alert.id) || alert.incident == Some(incident.id)
            }),
        })
    });
    let mail = json!({
        "uid": { "type": "MailSystem", "id": MAIL_SYSTEM },
        "attrs": { "forwards_outside": forwarding_outside },
        "parents": [],
    });
    Value::Array(
        incident_entities
            .chain(host_entities)
            .chain(user_entities)
            .chain(alert_entities)
            .chain(std::iter::once(mail))
            .collect(),
    )
}

/// The short role a policy compares against (`workstation`, `web server`, `database server`,
/// `domain controller`, `bastion`), from the EDR's descriptive role; a role none of these
/// describe is passed through as it is.
fn role_kind(role: &str) -> String {
    let role = role.to_lowercase();
    let kinds = [
        "domain controller",
        "web server",
        "database server",
        "bastion",
        "workstation",
    ];
    kinds
        .iter()
        .find(|kind| role.contains(*kind))
        .map_or(role.clone(), |kind| (*kind).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_shorten_to_their_kind() {
        assert_eq!(
            role_kind("domain controller (PDC emulator, DNS)"),
            "domain controller"
        );
        assert_eq!(
            role_kind("public web server (Apache 2.4, supplier portal)"),
            "web server"
        );
        assert_eq!(role_kind("finance workstation (treasury)"), "workstation");
        assert_eq!(role_kind("Label printer"), "label printer");
    }

    #[test]
    fn hosts_accounts_and_alerts_are_children_of_the_incidents_naming_them() {
        let (hosts, users, alerts) = (["ws-1".to_owned()], ["u".to_owned()], ["ALR-1".to_owned()]);
        let value = entities(
            &[
                IncidentFacts {
                    id: "INC-1",
                    status: "open",
                    severity: "high",
                    hosts: &hosts,
                    users: &users,
                    alerts: &alerts,
                },
                IncidentFacts {
                    id: "INC-2",
                    status: "closed",
                    severity: "low",
                    hosts: &[],
                    users: &[],
                    alerts: &[],
                },
            ],
            &[HostFacts {
                id: "ws-1",
                tier: 2,
                role: "workstation",
            }],
            &[UserFacts {
                id: "u",
                executive: true,
                break_glass: false,
                department: "IT",
            }],
            &[
                AlertFacts {
                    id: "ALR-1",
                    incident: None,
                },
                AlertFacts {
                    id: "ALR-2",
                    incident: Some("INC-2"),
                },
                AlertFacts {
                    id: "ALR-3",
                    incident: None,
                },
            ],
            &["u@northwind.example".to_owned()],
        );
        let inc = |id: &str| json!([{ "type": "Incident", "id": id }]);
        assert_eq!(value[2]["parents"], inc("INC-1"));
        assert_eq!(value[1]["attrs"]["status"], "closed");
        assert_eq!(value[3]["attrs"]["executive"], true);
        assert_eq!(value[3]["parents"], inc("INC-1"));
        assert_eq!(value[4]["uid"], json!({"type": "Alert", "id": "ALR-1"}));
        assert_eq!(value[4]["parents"], inc("INC-1"), "named by the incident");
        assert_eq!(value[5]["parents"], inc("INC-2"), "linked by the SIEM");
        assert_eq!(value[6]["parents"], json!([]));
        assert_eq!(
            value[7]["uid"],
            json!({"type": "MailSystem", "id": MAIL_SYSTEM})
        );
        assert_eq!(
            value[7]["attrs"]["forwards_outside"],
            json!(["u@northwind.example"])
        );
        assert_eq!(value[2]["attrs"]["open_incident"], true);
        assert_eq!(value[3]["attrs"]["open_incident"], true);
    }

    /// An incident contained but not closed still names a host or an account that may be
    /// compromised: releasing or re-enabling it needs two people until the incident closes.
    #[test]
    fn a_contained_incident_keeps_its_hosts_and_accounts_under_it() {
        let (hosts, users) = (["ws-1".to_owned()], ["u".to_owned()]);
        let of = |status: &'static str| {
            entities(
                &[IncidentFacts {
                    id: "INC-1",
                    status,
                    severity: "high",
                    hosts: &hosts,
                    users: &users,
                    alerts: &[],
                }],
                &[HostFacts {
                    id: "ws-1",
                    tier: 2,
                    role: "workstation",
                }],
                &[UserFacts {
                    id: "u",
                    executive: false,
                    break_glass: false,
                    department: "IT",
                }],
                &[],
                &[],
            )
        };
        for (status, under) in [("open", true), ("contained", true), ("closed", false)] {
            let value = of(status);
            assert_eq!(value[1]["attrs"]["open_incident"], under, "host, {status}");
            assert_eq!(
                value[2]["attrs"]["open_incident"], under,
                "account, {status}"
            );
        }
    }
}
