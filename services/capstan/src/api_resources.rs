//! `capstan api-resources`: what the server serves, from its Discover RPC,
//! as kubectl's NAME SHORTNAMES APIVERSION NAMESPACED KIND table.

use crate::errors::CliError;
use crate::printers::Table;
use crate::Context;
use capstan_proto::api::v1::ApiResource;

pub async fn run(ctx: &mut Context<'_>) -> Result<(), CliError> {
    let resources = ctx.client.discover().await.map_err(|e| ctx.fail(e, None))?;
    ctx.out.write_all(table(&resources).render().as_bytes())?;
    Ok(())
}

pub fn table(resources: &[ApiResource]) -> Table {
    let header = ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"];
    let mut table = Table::new(header.iter().map(|h| h.to_string()).collect());
    table.rows = resources
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.short_names.join(","),
                r.api_version.clone(),
                r.namespaced.to_string(),
                r.kind.clone(),
            ]
        })
        .collect();
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_names_short_names_and_scope() {
        let resources = vec![
            ApiResource {
                name: "pods".into(),
                short_names: vec!["po".into()],
                api_version: "v1".into(),
                namespaced: true,
                kind: "Pod".into(),
                ..Default::default()
            },
            ApiResource {
                name: "deployments".into(),
                short_names: vec!["deploy".into()],
                api_version: "apps/v1".into(),
                namespaced: true,
                kind: "Deployment".into(),
                ..Default::default()
            },
            ApiResource {
                name: "leases".into(),
                api_version: "coordination.k8s.io/v1".into(),
                namespaced: true,
                kind: "Lease".into(),
                ..Default::default()
            },
        ];
        assert_eq!(
            table(&resources).render(),
            "NAME          SHORTNAMES   APIVERSION               NAMESPACED   KIND\n\
             pods          po           v1                       true         Pod\n\
             deployments   deploy       apps/v1                  true         Deployment\n\
             leases                     coordination.k8s.io/v1   true         Lease\n"
        );
    }
}
