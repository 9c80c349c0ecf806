//! `capstan get -w`: after the listing, print every change as it happens,
//! prefixed with its type (ADDED, MODIFIED, DELETED) unless
//! `--output-watch-events=false`. Runs until the server ends the watch or
//! the user interrupts.

use crate::cli::{GetArgs, OutputFormat};
use crate::errors::CliError;
use crate::printers::{self, Streamer, Table};
use crate::{get, output, Context};
use capstan_client::{resource_ref, ListParams, WatchEvent};
use capstan_proto::api::v1::Object;
use capstan_proto::KindInfo;
use chrono::Utc;
use futures::StreamExt;

/// How each change is printed.
enum Printer {
    Table(Streamer),
    Objects(OutputFormat),
}

pub async fn follow(
    ctx: &mut Context<'_>,
    args: &GetArgs,
    info: &'static KindInfo,
    namespace: &str,
    params: ListParams,
    initial: Vec<Object>,
    resource_version: String,
) -> Result<(), CliError> {
    let events = args.output_watch_events;
    let cols = get::columns(args, info, events);
    let mut printer = match args.output {
        Some(format @ (OutputFormat::Json | OutputFormat::Yaml | OutputFormat::Name)) => Printer::Objects(format),
        _ => {
            let now = Utc::now();
            let mut table = Table::new(get::header(args, info, cols));
            let added = events.then_some("ADDED");
            table.rows = initial.iter().map(|o| printers::row(o, cols, now, added)).collect();
            if events {
                table.reserve = vec!["MODIFIED".to_string()];
            }
            Printer::Table(Streamer::start(&table, ctx.out)?)
        }
    };
    if let Printer::Objects(format) = printer {
        for object in &initial {
            print_one(ctx, "ADDED", object, format, events)?;
        }
    }

    let target = resource_ref(info, namespace, "");
    let mut stream =
        ctx.client.watch(target, params.to_options(&resource_version)).await.map_err(|e| ctx.fail(e, None))?;
    while let Some(item) = stream.next().await {
        let event = item.map_err(|e| ctx.fail(e, None))?;
        let kind = event.type_name();
        let object = match event {
            WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => o,
            WatchEvent::Bookmark { .. } => continue,
        };
        match &mut printer {
            Printer::Table(streamer) => {
                let row = printers::row(&object, cols, Utc::now(), events.then_some(kind));
                streamer.row(&row, ctx.out)?;
            }
            Printer::Objects(format) => print_one(ctx, kind, &object, *format, events)?,
        }
    }
    Ok(())
}

fn print_one(
    ctx: &mut Context<'_>,
    kind: &str,
    object: &Object,
    format: OutputFormat,
    events: bool,
) -> Result<(), CliError> {
    if events {
        output::print_event(ctx.out, kind, object, format)
    } else {
        output::print_objects(ctx.out, std::slice::from_ref(object), format, true)?;
        ctx.out.flush()?;
        Ok(())
    }
}
