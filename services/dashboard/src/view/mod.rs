//! The pure part of the dashboard: a view's objects in, its sections of
//! rows out, and the patches between two renderings. Nothing here does
//! I/O or knows where the objects came from (a page load's lists or a live
//! stream's informers), so every column, every "may not" and every patch
//! is tested without a server.
//!
//! - [`Scope`]: one namespace or all of them, and how to say it.
//! - [`ViewName`]: the four views and the sources each reads.
//! - [`Objects`]: what was read for a view; a source the user may not read
//!   holds the sentence that says so.
//! - [`sections`]: the sections of a view ([`rows`], [`nodes`] build their rows).
//! - [`diff`]: two renderings of a section → [`Patch`]es for the page's script.

pub mod nodes;
pub mod rows;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use capstan_proto::apps::v1::{Deployment, ReplicaSet};
use capstan_proto::core::v1::{Endpoints, Event, Node, Pod, Service};
use capstan_proto::{KindInfo, Resource};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Which namespace a view shows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    All,
    Namespace(String),
}

impl Scope {
    /// `?namespace=` as given: empty or absent is every namespace; anything
    /// else must be a namespace's name (a DNS-1123 label).
    pub fn parse(namespace: Option<&str>) -> Result<Scope, String> {
        match namespace.map(str::trim).unwrap_or_default() {
            "" => Ok(Scope::All),
            name => match capstan_selectors::syntax::dns1123_label(name) {
                Ok(()) => Ok(Scope::Namespace(name.to_owned())),
                Err(why) => Err(format!("{name:?} is not a namespace name: {why}")),
            },
        }
    }

    /// The namespace to list in (`None`: all).
    pub fn namespace(&self) -> Option<&str> {
        match self {
            Scope::All => None,
            Scope::Namespace(name) => Some(name),
        }
    }

    /// `in namespace shop`, or `in any namespace` (a cluster-wide list).
    pub fn words(&self) -> String {
        match self {
            Scope::All => "in any namespace".to_owned(),
            Scope::Namespace(name) => format!("in namespace {name}"),
        }
    }
}

/// The dashboard's views, each a page of sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewName {
    /// Deployments with their rollouts, ReplicaSets, pods: the overview.
    Workloads,
    /// Services with their endpoints.
    Services,
    /// Nodes: status, runtime, capacity and what the pods on them request.
    Nodes,
    /// Recent events.
    Events,
}

/// What a view reads, each a list+watch of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Deployments,
    ReplicaSets,
    Pods,
    Services,
    Endpoints,
    Nodes,
    Events,
    /// Pods in every namespace whatever the scope: what nodes' requests are summed from.
    PodsEverywhere,
}

impl Source {
    pub fn info(self) -> &'static KindInfo {
        match self {
            Source::Deployments => &Deployment::INFO,
            Source::ReplicaSets => &ReplicaSet::INFO,
            Source::Pods | Source::PodsEverywhere => &Pod::INFO,
            Source::Services => &Service::INFO,
            Source::Endpoints => &Endpoints::INFO,
            Source::Nodes => &Node::INFO,
            Source::Events => &Event::INFO,
        }
    }

    /// The scope this source is read in when the view shows `scope`.
    pub fn scope(self, scope: &Scope) -> Scope {
        match self {
            Source::Nodes | Source::PodsEverywhere => Scope::All,
            _ => scope.clone(),
        }
    }

    /// "You may not list pods in namespace shop", in the words a person reads.
    pub fn may_not(self, verb: &str, scope: &Scope) -> String {
        let info = self.info();
        match info.namespaced {
            true => format!("You may not {verb} {} {}.", info.resource, self.scope(scope).words()),
            false => format!("You may not {verb} {}.", info.resource),
        }
    }
}

impl ViewName {
    pub const ALL: [ViewName; 4] = [ViewName::Workloads, ViewName::Services, ViewName::Nodes, ViewName::Events];

    /// The view a path segment names (`workloads`, …).
    pub fn parse(name: &str) -> Option<ViewName> {
        ViewName::ALL.into_iter().find(|view| view.path() == name)
    }

    pub fn path(self) -> &'static str {
        match self {
            ViewName::Workloads => "workloads",
            ViewName::Services => "services",
            ViewName::Nodes => "nodes",
            ViewName::Events => "events",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ViewName::Workloads => "Workloads",
            ViewName::Services => "Services",
            ViewName::Nodes => "Nodes",
            ViewName::Events => "Events",
        }
    }

    /// What the view reads.
    pub fn sources(self) -> &'static [Source] {
        match self {
            ViewName::Workloads => &[Source::Deployments, Source::ReplicaSets, Source::Pods],
            ViewName::Services => &[Source::Services, Source::Endpoints],
            ViewName::Nodes => &[Source::Nodes, Source::PodsEverywhere],
            ViewName::Events => &[Source::Events],
        }
    }
}

/// What one source gave: its objects, or the sentence saying why there are none.
pub type Listed<K> = Result<Vec<Arc<K>>, String>;

/// The objects read for a view; a source the view does not read stays empty.
#[derive(Debug, Clone, Default)]
pub struct Objects {
    pub deployments: Option<Listed<Deployment>>,
    pub replica_sets: Option<Listed<ReplicaSet>>,
    pub pods: Option<Listed<Pod>>,
    pub services: Option<Listed<Service>>,
    pub endpoints: Option<Listed<Endpoints>>,
    pub nodes: Option<Listed<Node>>,
    pub events: Option<Listed<Event>>,
    pub pods_everywhere: Option<Listed<Pod>>,
}

/// One section of a view, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The element id live patches name (`pods`, `nodes`, …).
    pub id: &'static str,
    pub title: &'static str,
    pub header: Vec<String>,
    /// The rows, or the sentence that says why there are none.
    pub body: Result<Vec<Row>, String>,
    /// What the section leaves out, and why.
    pub note: Option<String>,
}

/// One row, keyed: `namespace/name` (or the name, or an event's uid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub key: String,
    pub html: String,
}

impl Section {
    /// The section's markup.
    pub fn html(&self) -> String {
        let rows: Vec<String> = self.body.iter().flatten().map(|r| r.html.clone()).collect();
        let body = match &self.body {
            Ok(_) => Ok(rows.as_slice()),
            Err(refused) => Err(refused.as_str()),
        };
        crate::html::section(self.id, self.title, &self.header, body, self.note.as_deref())
    }
}

fn listed<K>(source: &Option<Listed<K>>) -> Result<Vec<&K>, String> {
    match source {
        Some(Ok(objects)) => Ok(objects.iter().map(AsRef::as_ref).collect()),
        Some(Err(refused)) => Err(refused.clone()),
        None => Ok(Vec::new()),
    }
}

/// The sections of `view` over `objects`, as of `now`.
pub fn sections(view: ViewName, scope: &Scope, objects: &Objects, now: DateTime<Utc>) -> Vec<Section> {
    let all = matches!(scope, Scope::All);
    match view {
        ViewName::Workloads => vec![
            rows::deployments(listed(&objects.deployments), all, now),
            rows::replica_sets(listed(&objects.replica_sets), all, now),
            rows::pods(listed(&objects.pods), all, now),
        ],
        ViewName::Services => {
            vec![rows::services(listed(&objects.services), listed(&objects.endpoints), all, now)]
        }
        ViewName::Nodes => vec![nodes::nodes(listed(&objects.nodes), listed(&objects.pods_everywhere), now)],
        ViewName::Events => vec![rows::events(listed(&objects.events), all, now)],
    }
}

/// One change the page's script makes to a section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Patch {
    /// The whole section anew (the first rendering of a live stream, rows
    /// that changed places, a section whose readability changed).
    Replace { section: String, html: String },
    /// Put this row in place of the row with its key; a row the page does
    /// not have goes before the row keyed `before` (at the end when `None`).
    Upsert { section: String, key: String, html: String, before: Option<String> },
    /// Remove the row with this key.
    Delete { section: String, key: String },
    /// A section's live updates stopped, and why.
    Stalled { section: String, message: String },
}

/// The patches that turn the page's `old` rendering of a section into
/// `new`: rows gone are deleted, changed rows replaced where they stand,
/// new rows inserted before their successor in `new` — last first, so that
/// successor is always on the page already. When rows that stay change
/// their order (events re-sorted by time), or the header, note or
/// readability changes, the section is replaced whole.
pub fn diff(old: &Section, new: &Section) -> Vec<Patch> {
    let section = new.id.to_owned();
    let replace = || vec![Patch::Replace { section: section.clone(), html: new.html() }];
    let (Ok(old_rows), Ok(new_rows)) = (&old.body, &new.body) else {
        return if old == new { Vec::new() } else { replace() };
    };
    if old.header != new.header || old.note != new.note {
        return replace();
    }
    let was: HashMap<&str, &str> = old_rows.iter().map(|r| (r.key.as_str(), r.html.as_str())).collect();
    let is: HashSet<&str> = new_rows.iter().map(|r| r.key.as_str()).collect();
    let stayed_old: Vec<&str> = old_rows.iter().map(|r| r.key.as_str()).filter(|k| is.contains(k)).collect();
    let stayed_new: Vec<&str> = new_rows.iter().map(|r| r.key.as_str()).filter(|k| was.contains_key(k)).collect();
    if stayed_old != stayed_new {
        return replace();
    }
    let mut patches: Vec<Patch> = (old_rows.iter().filter(|r| !is.contains(r.key.as_str())))
        .map(|r| Patch::Delete { section: section.clone(), key: r.key.clone() })
        .collect();
    for (i, row) in new_rows.iter().enumerate().rev() {
        if was.get(row.key.as_str()) == Some(&row.html.as_str()) {
            continue;
        }
        patches.push(Patch::Upsert {
            section: section.clone(),
            key: row.key.clone(),
            html: row.html.clone(),
            before: new_rows.get(i + 1).map(|next| next.key.clone()),
        });
    }
    patches
}

#[cfg(test)]
mod tests;
