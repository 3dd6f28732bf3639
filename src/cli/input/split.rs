//! Parsing a large JSON document on every core. The document's objects down to its first arrays
//! are read on the calling thread with the array elements only scanned (syntax checked, not
//! built); the elements (the apps of a `/v2/apps` dump, the groups of a group tree, the items of
//! a list) are then parsed in parallel and put back in place. Each app's JSON is thereby built
//! (and later freed) by the worker that checks it, and the serial part of `convert` shrinks.
//!
//! The result is the value `serde_json::from_str` gives: the elements are parsed by it, and
//! the objects around them are rebuilt the way its `Value` visitor builds them. Whenever the
//! split parse cannot vouch for that (a syntax error, nesting near the depth limit, serde_json's
//! private raw-value key), the document is parsed whole instead, so errors read exactly as before.

use rayon::prelude::*;
use serde::de::{self, Deserialize, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Documents smaller than this are parsed whole: splitting pays only for many apps.
const SPLIT_FROM_BYTES: usize = 64 * 1024;

/// Arrays and objects serde_json nests at most (its recursion limit of 128 is hit when entering
/// the 128th).
const MAX_NESTING: usize = 127;

/// The key serde_json's `Value` visitor treats as a raw value (feature `raw_value`), not as a key.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// Parses `text` as `serde_json::from_str::<Value>` does, large documents on every core.
pub(super) fn parse(text: &str) -> serde_json::Result<Value> {
    if text.len() < SPLIT_FROM_BYTES {
        return serde_json::from_str(text);
    }
    split_parse(text).map_or_else(|| serde_json::from_str(text), Ok)
}

/// The split parse, or `None` when the whole parse must decide.
fn split_parse(text: &str) -> Option<Value> {
    let skeleton: Skeleton<'_> = serde_json::from_str(text).ok()?;
    let mut elements = Vec::new();
    skeleton.elements(0, &mut elements);
    let parsed: Vec<Value> = elements
        .par_iter()
        .map(|&(depth, raw)| parse_element(depth, raw))
        .collect::<Option<_>>()?;
    let mut parsed = parsed.into_iter();
    let value = skeleton.assemble(&mut parsed);
    parsed.next().is_none().then_some(value)
}

/// One array element parsed on its own; `None` if, at its depth in the document, it would nest
/// deeper than serde_json allows (parsed alone it starts at depth 0).
fn parse_element(depth: usize, raw: &RawValue) -> Option<Value> {
    let value: Value = serde_json::from_str(raw.get()).ok()?;
    (depth + nesting(&value) <= MAX_NESTING).then_some(value)
}

/// How many arrays and objects are nested in `value`, itself included.
fn nesting(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(nesting).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(nesting).max().unwrap_or(0),
        _ => 0,
    }
}

/// A document read down to its first arrays, whose elements are still text.
enum Skeleton<'a> {
    /// Entries in document order (a repeated key is resolved when the object is rebuilt).
    Object(Vec<(String, Skeleton<'a>)>),
    Array(Vec<&'a RawValue>),
    Scalar(Value),
}

impl<'a> Skeleton<'a> {
    /// Every array element with the number of arrays and objects around it, in document order.
    fn elements(&self, depth: usize, out: &mut Vec<(usize, &'a RawValue)>) {
        match self {
            Skeleton::Object(entries) => {
                entries.iter().for_each(|(_, child)| child.elements(depth + 1, out))
            }
            Skeleton::Array(items) => out.extend(items.iter().map(|raw| (depth + 1, *raw))),
            Skeleton::Scalar(_) => {}
        }
    }

    /// The value, taking the parsed elements in the order of [`Self::elements`]. Objects are
    /// built as serde_json's `Value` visitor builds them: entries inserted in order, a repeated
    /// key keeping its first place and its last value.
    fn assemble(self, parsed: &mut impl Iterator<Item = Value>) -> Value {
        match self {
            Skeleton::Object(entries) => {
                let mut map = Map::new();
                for (key, child) in entries {
                    let value = child.assemble(parsed);
                    map.insert(key, value);
                }
                Value::Object(map)
            }
            Skeleton::Array(items) => Value::Array(parsed.take(items.len()).collect()),
            Skeleton::Scalar(value) => value,
        }
    }
}

impl<'de> Deserialize<'de> for Skeleton<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SkeletonVisitor)
    }
}

struct SkeletonVisitor;

/// A scalar as serde_json's `Value` visitor makes it.
fn scalar<'de, E: de::Error, D: IntoDeserializer<'de, E>>(value: D) -> Result<Skeleton<'de>, E> {
    Value::deserialize(value.into_deserializer()).map(Skeleton::Scalar)
}

impl<'de> Visitor<'de> for SkeletonVisitor {
    type Value = Skeleton<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        scalar(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        scalar(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        scalar(v)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        scalar(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Skeleton::Scalar(Value::String(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Skeleton::Scalar(Value::String(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Skeleton::Scalar(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            items.push(raw);
        }
        Ok(Skeleton::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == RAW_VALUE_TOKEN {
                return Err(de::Error::custom("left to the whole parse"));
            }
            entries.push((key, map.next_value::<Skeleton<'de>>()?));
        }
        Ok(Skeleton::Object(entries))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A document over the split threshold: `apps` padded with copies of `app`.
    fn big(app: &Value, extra: Value) -> String {
        let apps: Vec<Value> = (0..600).map(|_| app.clone()).collect();
        let mut doc = json!({"id": "/g", "apps": apps, "groups": [{"id": "a", "apps": [app]}]});
        if let (Some(map), Value::Object(more)) = (doc.as_object_mut(), extra) {
            map.extend(more);
        }
        let text = serde_json::to_string(&doc).unwrap();
        assert!(text.len() >= SPLIT_FROM_BYTES, "{}", text.len());
        text
    }

    fn app() -> Value {
        json!({"id": "x", "cmd": "sleep 1", "mem": 1.5, "cpus": 1, "big": 18446744073709551615u64,
               "neg": -3, "labels": {"a": "b"}, "ports": [0, 1], "env": {"A": null, "B": true}})
    }

    #[test]
    fn split_parse_equals_the_whole_parse() {
        let text = big(&app(), json!({"dependencies": [], "n": 1.25}));
        let split = split_parse(&text).expect("split");
        assert_eq!(split, serde_json::from_str::<Value>(&text).unwrap());
        // Key order too (preserve_order): compare the texts.
        assert_eq!(serde_json::to_string(&split).unwrap(), text);
    }

    #[test]
    fn repeated_keys_keep_first_place_and_last_value() {
        let mut text = big(&app(), json!({}));
        text.insert_str(1, r#""apps": [1], "x": 1, "id": "/first", "#);
        text.pop();
        text.push_str(r#", "x": [{"a": 2}]}"#);
        let whole: Value = serde_json::from_str(&text).unwrap();
        let split = split_parse(&text).expect("split");
        assert_eq!(serde_json::to_string(&split).unwrap(), serde_json::to_string(&whole).unwrap());
    }

    #[test]
    fn errors_are_the_whole_parse_errors() {
        let text = big(&app(), json!({}));
        for broken in [
            text.replacen("sleep 1", "sleep \\ud800 1", 3),
            text.replacen("1.5", "1e999", 1),
            text.replacen("\"cpus\":1", "\"cpus\":01", 1),
            format!("{text} x"),
            text.replacen(r#""id":"/g""#, r#""$serde_json::private::RawValue":"1""#, 1),
        ] {
            let whole = serde_json::from_str::<Value>(&broken).map_err(|e| e.to_string());
            assert_eq!(parse(&broken).map_err(|e| e.to_string()), whole, "{}", &broken[..80]);
        }
    }

    #[test]
    fn nesting_at_the_limit_is_left_to_the_whole_parse() {
        let mut deep = json!(1);
        for _ in 0..(MAX_NESTING - 2) {
            deep = json!([deep]);
        }
        // Inside `apps` (2 levels deep) the element nests 125 + 2 = 127: allowed; one more is not.
        let ok = big(&app(), json!({"deep": [deep.clone()]}));
        assert_eq!(parse(&ok).unwrap(), serde_json::from_str::<Value>(&ok).unwrap());
        let too_deep = big(&app(), json!({"deep": [[deep]]}));
        assert!(split_parse(&too_deep).is_none());
        let whole = serde_json::from_str::<Value>(&too_deep).map_err(|e| e.to_string());
        assert!(whole.is_err());
        assert_eq!(parse(&too_deep).map_err(|e| e.to_string()), whole);
    }
}
