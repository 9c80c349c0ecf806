//! Which traces are kept: `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`, as the
//! OpenTelemetry SDK configuration spec defines them. The SDK reads them too, but a
//! value it cannot use (a typo, a ratio of `0,5`) only becomes a silent fallback to
//! sampling everything; a component here refuses to start instead, naming the value.

use opentelemetry_sdk::trace::Sampler;

use crate::error::TelemetryError;

/// The sampler variable.
pub(crate) const SAMPLER_VAR: &str = "OTEL_TRACES_SAMPLER";
/// Its argument (the ratio of the `traceidratio` samplers).
pub(crate) const SAMPLER_ARG_VAR: &str = "OTEL_TRACES_SAMPLER_ARG";

/// The sampler the environment asks for.
pub(crate) fn from_env() -> Result<Sampler, TelemetryError> {
    parse(std::env::var(SAMPLER_VAR).ok().as_deref(), std::env::var(SAMPLER_ARG_VAR).ok().as_deref())
}

/// The sampler for `name` (case-insensitive; unset or empty is the spec's default,
/// `parentbased_always_on`) and `arg` (a ratio in [0, 1], 1.0 when unset; read only
/// by the ratio samplers).
pub(crate) fn parse(name: Option<&str>, arg: Option<&str>) -> Result<Sampler, TelemetryError> {
    let name = name.map(str::trim).filter(|name| !name.is_empty()).unwrap_or("parentbased_always_on");
    let ratio = || ratio(arg);
    let parent_based = |root: Sampler| Sampler::ParentBased(Box::new(root));
    Ok(match name.to_ascii_lowercase().as_str() {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatioBased(ratio()?),
        "parentbased_always_on" => parent_based(Sampler::AlwaysOn),
        "parentbased_always_off" => parent_based(Sampler::AlwaysOff),
        "parentbased_traceidratio" => parent_based(Sampler::TraceIdRatioBased(ratio()?)),
        _ => return Err(TelemetryError::InvalidSampler { name: name.to_owned() }),
    })
}

fn ratio(arg: Option<&str>) -> Result<f64, TelemetryError> {
    let Some(arg) = arg.map(str::trim).filter(|arg| !arg.is_empty()) else { return Ok(1.0) };
    match arg.parse::<f64>() {
        Ok(ratio) if (0.0..=1.0).contains(&ratio) => Ok(ratio),
        _ => Err(TelemetryError::InvalidSamplerArg { arg: arg.to_owned() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_samplers_and_their_arguments() {
        let cases: &[(Option<&str>, Option<&str>, &str)] = &[
            (None, None, "ParentBased(AlwaysOn)"),
            (Some(""), Some("0.1"), "ParentBased(AlwaysOn)"),
            (Some("always_on"), None, "AlwaysOn"),
            (Some("always_off"), Some("0.5"), "AlwaysOff"),
            (Some("ALWAYS_OFF"), None, "AlwaysOff"),
            (Some("traceidratio"), Some("0.25"), "TraceIdRatioBased(0.25)"),
            (Some("traceidratio"), None, "TraceIdRatioBased(1.0)"),
            (Some("parentbased_always_on"), None, "ParentBased(AlwaysOn)"),
            (Some("parentbased_always_off"), None, "ParentBased(AlwaysOff)"),
            (Some(" parentbased_traceidratio "), Some(" 0 "), "ParentBased(TraceIdRatioBased(0.0))"),
            (Some("parentbased_traceidratio"), Some(""), "ParentBased(TraceIdRatioBased(1.0))"),
        ];
        for (name, arg, want) in cases {
            match parse(*name, *arg) {
                Ok(sampler) => assert_eq!(format!("{sampler:?}"), *want, "{name:?} {arg:?}"),
                Err(e) => panic!("{name:?} {arg:?}: {e}"),
            }
        }
    }

    #[test]
    fn bad_values_are_refused_by_name() {
        let cases: &[(Option<&str>, Option<&str>, &str)] = &[
            (Some("always-on"), None, "OTEL_TRACES_SAMPLER=\"always-on\""),
            (Some("jaeger_remote"), None, "OTEL_TRACES_SAMPLER=\"jaeger_remote\""),
            (Some("traceidratio"), Some("0,5"), "OTEL_TRACES_SAMPLER_ARG=\"0,5\""),
            (Some("parentbased_traceidratio"), Some("1.5"), "OTEL_TRACES_SAMPLER_ARG=\"1.5\""),
            (Some("traceidratio"), Some("NaN"), "OTEL_TRACES_SAMPLER_ARG=\"NaN\""),
        ];
        for (name, arg, want) in cases {
            match parse(*name, *arg) {
                Ok(sampler) => panic!("{name:?} {arg:?} gave {sampler:?}"),
                Err(e) => assert!(e.to_string().contains(want), "{name:?} {arg:?}: {e}"),
            }
        }
    }
}
