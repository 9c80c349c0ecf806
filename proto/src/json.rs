//! Kubernetes' JSON forms that are not plain objects, and the helpers the
//! generated serde attributes call.
//!
//! Kubernetes prints a time as an RFC 3339 string, a quantity as a string, and
//! an int-or-string as a bare number or string; the generated messages for
//! these carry fields, so their serde impls are written here by hand.

use crate::meta::v1::{FieldsV1, IntOrString, MicroTime, Quantity, Time};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// Fields equal to their default are left out of the JSON form, as
/// Kubernetes' `omitempty` does.
pub fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

thread_local! {
    /// Set while [`sparse`] runs: zero values are left out even where
    /// Kubernetes writes them.
    static SPARSE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with the fields Kubernetes always writes left out when zero, so
/// that a typed manifest serializes to what its author wrote (plus nothing
/// zero). A client-side merge patch built from a manifest needs this: a
/// `targetPort: 0` the author never wrote would overwrite the server's default.
pub fn sparse<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            SPARSE.with(|s| s.set(self.0));
        }
    }
    let _reset = Reset(SPARSE.with(|s| s.replace(true)));
    f()
}

/// For the fields Kubernetes always writes: left out only inside [`sparse`].
pub fn is_default_when_sparse<T: Default + PartialEq>(value: &T) -> bool {
    SPARSE.with(|s| s.get()) && is_default(value)
}

/// Writes an unset message as its zero value, for the fields Kubernetes
/// writes even when empty (`"resources": {}`, `"lastState": {}`); see
/// `always-written.txt`.
pub fn default_if_none<T, S>(value: &Option<T>, s: S) -> Result<S::Ok, S::Error>
where
    T: Serialize + Default,
    S: Serializer,
{
    match value {
        Some(v) => v.serialize(s),
        None => T::default().serialize(s),
    }
}

/// A `null` in a manifest means "not set", as it does for Kubernetes.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Time::parse_rfc3339(&text).map_err(de::Error::custom)
    }
}

impl Serialize for MicroTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for MicroTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        MicroTime::parse_rfc3339(&text).map_err(de::Error::custom)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Kubernetes writes a zero quantity as "0", never as ""
        s.serialize_str(if self.string.is_empty() { "0" } else { &self.string })
    }
}

/// Accepts `"500m"`, `"1Gi"` and, as YAML writes `cpu: 2`, bare numbers.
struct QuantityVisitor;

impl Visitor<'_> for QuantityVisitor {
    type Value = Quantity;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a quantity such as \"500m\", \"128Mi\" or 2")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
        let q = Quantity { string: v.to_string() };
        q.to_milli().map_err(E::custom)?;
        Ok(q)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
        Ok(Quantity { string: v.to_string() })
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
        Ok(Quantity { string: v.to_string() })
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
        self.visit_str(&v.to_string())
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(QuantityVisitor)
    }
}

/// A field set is the JSON object it holds (`{"f:spec":{"f:replicas":{}}}`),
/// as Kubernetes writes `fieldsV1`; the message keeps that JSON's text.
impl Serialize for FieldsV1 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.raw.is_empty() {
            return serde_json::Map::new().serialize(s);
        }
        let value: serde_json::Value = serde_json::from_str(&self.raw).map_err(serde::ser::Error::custom)?;
        value.serialize(s)
    }
}

impl<'de> Deserialize<'de> for FieldsV1 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            value @ serde_json::Value::Object(_) => Ok(FieldsV1 { raw: value.to_string() }),
            other => Err(de::Error::custom(format!("fieldsV1 must be an object, not {other}"))),
        }
    }
}

impl Serialize for IntOrString {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.is_string() {
            s.serialize_str(&self.str_val)
        } else {
            s.serialize_i32(self.int_val)
        }
    }
}

struct IntOrStringVisitor;

impl Visitor<'_> for IntOrStringVisitor {
    type Value = IntOrString;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer or a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<IntOrString, E> {
        Ok(IntOrString::from_string(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<IntOrString, E> {
        i32::try_from(v)
            .map(IntOrString::from_int)
            .map_err(|_| E::custom(format!("{v} does not fit in a 32-bit integer")))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<IntOrString, E> {
        i32::try_from(v)
            .map(IntOrString::from_int)
            .map_err(|_| E::custom(format!("{v} does not fit in a 32-bit integer")))
    }
}

impl<'de> Deserialize<'de> for IntOrString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IntOrStringVisitor)
    }
}

impl IntOrString {
    pub const INT: i32 = 0;
    pub const STRING: i32 = 1;

    pub fn from_int(v: i32) -> Self {
        IntOrString { r#type: Self::INT, int_val: v, str_val: String::new() }
    }
    pub fn from_string(v: impl Into<String>) -> Self {
        IntOrString { r#type: Self::STRING, int_val: 0, str_val: v.into() }
    }
    pub fn is_string(&self) -> bool {
        self.r#type == Self::STRING
    }
    /// The value as Kubernetes prints it: `8080` or `http` or `25%`.
    pub fn to_display(&self) -> String {
        if self.is_string() {
            self.str_val.clone()
        } else {
            self.int_val.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_or_string_round_trips_as_bare_values() {
        for text in ["8080", "\"http\"", "\"25%\""] {
            let v: IntOrString = serde_json::from_str(text).expect("parses");
            assert_eq!(serde_json::to_string(&v).expect("prints"), text);
        }
    }

    #[test]
    fn quantity_accepts_numbers_and_refuses_garbage() {
        let q: Quantity = serde_json::from_str("2").expect("number");
        assert_eq!(q.string, "2");
        let q: Quantity = serde_json::from_str("\"128Mi\"").expect("string");
        assert_eq!(serde_json::to_string(&q).expect("prints"), "\"128Mi\"");
        assert!(serde_json::from_str::<Quantity>("\"12x\"").is_err());
    }

    #[test]
    fn fields_v1_is_the_object_it_holds() {
        let text = r#"{"f:spec":{"f:replicas":{}}}"#;
        let fields: FieldsV1 = serde_json::from_str(text).expect("an object");
        assert_eq!(serde_json::to_string(&fields).expect("prints"), text);
        assert_eq!(serde_json::to_string(&FieldsV1::default()).expect("prints"), "{}");
        assert!(serde_json::from_str::<FieldsV1>("[1]").is_err());
    }

    #[test]
    fn time_prints_rfc3339_seconds() {
        let t = Time { seconds: 1_700_000_000, nanos: 0 };
        assert_eq!(serde_json::to_string(&t).expect("prints"), "\"2023-11-14T22:13:20Z\"");
        let back: Time = serde_json::from_str("\"2023-11-14T22:13:20Z\"").expect("parses");
        assert_eq!(back, t);
    }
}
