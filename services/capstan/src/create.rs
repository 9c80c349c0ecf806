//! `capstan create`: create objects from manifests (failing on ones that
//! exist, unlike apply), or a namespace by name; roles and bindings from
//! flags are `create_rbac`'s.

use crate::cli::{CreateArgs, CreateWhat};
use crate::errors::{CliError, Subject};
use crate::{manifest, names, Context};
use capstan_client::resource_ref;
use capstan_proto::core::v1::Namespace;
use capstan_proto::meta::v1::ObjectMeta;
use capstan_proto::{ObjectExt, Resource};

pub async fn run(ctx: &mut Context<'_>, args: &CreateArgs) -> Result<(), CliError> {
    if let Some(what) = args.what.as_ref().filter(|w| !matches!(w, CreateWhat::Namespace { .. })) {
        if !args.filenames.is_empty() {
            return Err(CliError::Usage("give either -f or what to create, not both".to_string()));
        }
        return crate::create_rbac::run(ctx, what).await;
    }
    let objects = match (&args.what, args.filenames.is_empty()) {
        (Some(CreateWhat::Namespace { name }), true) => {
            let mut ns = Namespace {
                metadata: Some(ObjectMeta { name: name.clone(), ..Default::default() }),
                ..Default::default()
            };
            ns.set_type_meta();
            vec![ns.into_object()]
        }
        (None, false) => manifest::read(&args.filenames, false)?,
        (Some(_), false) => return Err(CliError::Usage("give either -f or what to create, not both".to_string())),
        // roles and bindings went to create_rbac above
        (Some(_), true) => return Err(CliError::Usage("unexpected object to create".to_string())),
        (None, true) => {
            return Err(CliError::Usage("must specify -f or what to create (e.g. namespace NAME)".to_string()))
        }
    };
    let mut errors = Vec::new();
    for mut object in objects {
        let info = match manifest::place(&mut object, &ctx.settings) {
            Ok(info) => info,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let name = object.meta().name.clone();
        let collection = resource_ref(info, &object.meta().namespace, "");
        match ctx.client.create(collection, object).await {
            Ok(_) => writeln!(ctx.out, "{} created", names::object_name(info, &name))?,
            Err(e) => errors.push(ctx.fail(e, Some(Subject { info, name: &name }))),
        }
    }
    CliError::collect(errors)
}
