//! `capstan replace -f`: write each object exactly as its manifest says,
//! carrying the manifest's resourceVersion, so a stale manifest is refused
//! with a conflict instead of overwriting someone else's change.

use crate::cli::FileArgs;
use crate::errors::{CliError, Subject};
use crate::{manifest, names, Context};
use capstan_client::resource_ref;
use capstan_proto::ObjectExt;

pub async fn run(ctx: &mut Context<'_>, args: &FileArgs) -> Result<(), CliError> {
    let objects = manifest::read(&args.filenames, args.recursive)?;
    let mut errors = Vec::new();
    for mut object in objects {
        let info = match manifest::place(&mut object, &ctx.settings) {
            Ok(info) => info,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let meta = object.meta();
        let name = meta.name.clone();
        let target = resource_ref(info, &meta.namespace, &name);
        match ctx.client.update(target, object).await {
            Ok(_) => writeln!(ctx.out, "{} replaced", names::object_name(info, &name))?,
            Err(e) => errors.push(ctx.fail(e, Some(Subject { info, name: &name }))),
        }
    }
    CliError::collect(errors)
}
