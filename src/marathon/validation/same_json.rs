//! Whether a value serialises to a given JSON value, decided without building the serialised
//! value: a `serde::Serializer` that compares as it goes. The check validates the app's own
//! JSON against the CRD schema when its spec serialises back to exactly that JSON (the common
//! case), which spares building a second JSON value per app; when they differ, or for any shape
//! this comparison does not follow, it answers "not the same" and the caller serialises.
//!
//! "The same" means `serde_json::to_value(value) == *json`: every method gives what
//! serde_json's value serialiser would make (numbers through `serde_json::Number`, `None` and
//! `()` as `null`, variants as serde's externally tagged form, objects compared whatever the key
//! order, a key serialised twice refused).

use serde::Serialize;
use serde::ser::{self, Impossible};
use serde_json::{Map, Number, Value};

/// Whether `serde_json::to_value(value)` would equal `json`.
pub(super) fn serializes_to<T: Serialize + ?Sized>(value: &T, json: &Value) -> bool {
    value.serialize(Same(json)).is_ok()
}

/// The two differ, or the shape is not one this comparison follows.
#[derive(Debug)]
pub(super) struct Differs;

impl std::fmt::Display for Differs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("differs")
    }
}

impl std::error::Error for Differs {}

impl ser::Error for Differs {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Differs
    }
}

/// serde_json's name for raw values (feature `raw_value`), serialised specially: not followed.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

fn same(equal: bool) -> Result<(), Differs> {
    if equal { Ok(()) } else { Err(Differs) }
}

fn number(json: &Value, number: Number) -> Result<(), Differs> {
    same(matches!(json, Value::Number(n) if *n == number))
}

/// The value of the only entry of `json` when that entry is `key` (a variant with content).
fn only_entry<'a>(json: &'a Value, key: &str) -> Result<&'a Value, Differs> {
    match json {
        Value::Object(map) if map.len() == 1 => map.get(key).ok_or(Differs),
        _ => Err(Differs),
    }
}

/// Compares the serialisation of one value with `.0`.
struct Same<'a>(&'a Value);

impl<'a> ser::Serializer for Same<'a> {
    type Ok = ();
    type Error = Differs;
    type SerializeSeq = Items<'a>;
    type SerializeTuple = Items<'a>;
    type SerializeTupleStruct = Items<'a>;
    type SerializeTupleVariant = Items<'a>;
    type SerializeMap = Entries<'a>;
    type SerializeStruct = Entries<'a>;
    type SerializeStructVariant = Entries<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Differs> {
        same(self.0.as_bool() == Some(v))
    }
    fn serialize_i8(self, v: i8) -> Result<(), Differs> {
        number(self.0, v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Differs> {
        number(self.0, v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Differs> {
        number(self.0, v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Differs> {
        number(self.0, v.into())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Differs> {
        number(self.0, v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Differs> {
        number(self.0, v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Differs> {
        number(self.0, v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Differs> {
        number(self.0, v.into())
    }
    fn serialize_f32(self, _: f32) -> Result<(), Differs> {
        Err(Differs)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Differs> {
        // serde_json: a finite float is a number, any other `null`.
        match Number::from_f64(v) {
            Some(n) => number(self.0, n),
            None => same(self.0.is_null()),
        }
    }
    fn serialize_char(self, v: char) -> Result<(), Differs> {
        same(self.0.as_str() == Some(v.encode_utf8(&mut [0; 4])))
    }
    fn serialize_str(self, v: &str) -> Result<(), Differs> {
        same(self.0.as_str() == Some(v))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Differs> {
        Err(Differs)
    }
    fn serialize_none(self) -> Result<(), Differs> {
        same(self.0.is_null())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Differs> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Differs> {
        same(self.0.is_null())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Differs> {
        same(self.0.is_null())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Differs> {
        same(self.0.as_str() == Some(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Differs> {
        if name == RAW_VALUE_TOKEN {
            return Err(Differs);
        }
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Differs> {
        value.serialize(Same(only_entry(self.0, variant)?))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Items<'a>, Differs> {
        Items::of(self.0)
    }
    fn serialize_tuple(self, _: usize) -> Result<Items<'a>, Differs> {
        Items::of(self.0)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Items<'a>, Differs> {
        Items::of(self.0)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Items<'a>, Differs> {
        Items::of(only_entry(self.0, variant)?)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Entries<'a>, Differs> {
        Entries::of(self.0)
    }
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Entries<'a>, Differs> {
        if name == RAW_VALUE_TOKEN {
            return Err(Differs);
        }
        Entries::of(self.0)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Entries<'a>, Differs> {
        Entries::of(only_entry(self.0, variant)?)
    }
}

/// The elements of an array, compared one by one; all of them must be used.
struct Items<'a>(std::slice::Iter<'a, Value>);

impl<'a> Items<'a> {
    fn of(json: &'a Value) -> Result<Self, Differs> {
        match json {
            Value::Array(items) => Ok(Self(items.iter())),
            _ => Err(Differs),
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Differs> {
        value.serialize(Same(self.0.next().ok_or(Differs)?))
    }

    fn end(mut self) -> Result<(), Differs> {
        same(self.0.next().is_none())
    }
}

impl ser::SerializeSeq for Items<'_> {
    type Ok = ();
    type Error = Differs;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Differs> {
        self.element(value)
    }
    fn end(self) -> Result<(), Differs> {
        Items::end(self)
    }
}

impl ser::SerializeTuple for Items<'_> {
    type Ok = ();
    type Error = Differs;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Differs> {
        self.element(value)
    }
    fn end(self) -> Result<(), Differs> {
        Items::end(self)
    }
}

impl ser::SerializeTupleStruct for Items<'_> {
    type Ok = ();
    type Error = Differs;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Differs> {
        self.element(value)
    }
    fn end(self) -> Result<(), Differs> {
        Items::end(self)
    }
}

impl ser::SerializeTupleVariant for Items<'_> {
    type Ok = ();
    type Error = Differs;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Differs> {
        self.element(value)
    }
    fn end(self) -> Result<(), Differs> {
        Items::end(self)
    }
}

/// Objects with more entries are not followed (the matched keys are kept on the stack).
const MAX_ENTRIES: usize = 64;

/// The entries of an object, looked up by key; every key must be serialised exactly once.
struct Entries<'a> {
    map: &'a Map<String, Value>,
    /// The entries matched so far (their keys, as stored in `map`; the first `count`).
    matched: [*const String; MAX_ENTRIES],
    count: usize,
    /// The value of the key just serialised (`serialize_key` before `serialize_value`).
    pending: Option<&'a Value>,
    /// The text of the key being serialised.
    key: String,
}

impl<'a> Entries<'a> {
    fn of(json: &'a Value) -> Result<Self, Differs> {
        match json {
            Value::Object(map) => Ok(Self {
                map,
                matched: [std::ptr::null(); MAX_ENTRIES],
                count: 0,
                pending: None,
                key: String::new(),
            }),
            _ => Err(Differs),
        }
    }

    /// The value stored under `key`, which must not have been serialised before.
    fn take(&mut self, key: &str) -> Result<&'a Value, Differs> {
        let (stored, value) = self.map.get_key_value(key).ok_or(Differs)?;
        let stored: *const String = stored;
        if self.count == MAX_ENTRIES || self.matched[..self.count].contains(&stored) {
            return Err(Differs);
        }
        self.matched[self.count] = stored;
        self.count += 1;
        Ok(value)
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Differs> {
        value.serialize(Same(self.take(key)?))
    }

    fn end(self) -> Result<(), Differs> {
        same(self.pending.is_none() && self.count == self.map.len())
    }
}

impl ser::SerializeMap for Entries<'_> {
    type Ok = ();
    type Error = Differs;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Differs> {
        let mut text = std::mem::take(&mut self.key);
        key.serialize(KeyStr(&mut text))?;
        self.pending = Some(self.take(&text)?);
        self.key = text;
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Differs> {
        value.serialize(Same(self.pending.take().ok_or(Differs)?))
    }
    fn end(self) -> Result<(), Differs> {
        Entries::end(self)
    }
}

impl ser::SerializeStruct for Entries<'_> {
    type Ok = ();
    type Error = Differs;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Differs> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Differs> {
        Entries::end(self)
    }
}

impl ser::SerializeStructVariant for Entries<'_> {
    type Ok = ();
    type Error = Differs;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Differs> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Differs> {
        Entries::end(self)
    }
}

/// A map key that is a string, copied into a reused buffer for the lookup (serde does not
/// lend it longer). Keys of other types (which serde_json would turn into strings) are not
/// followed.
struct KeyStr<'b>(&'b mut String);

impl ser::Serializer for KeyStr<'_> {
    type Ok = ();
    type Error = Differs;
    type SerializeSeq = Impossible<(), Differs>;
    type SerializeTuple = Impossible<(), Differs>;
    type SerializeTupleStruct = Impossible<(), Differs>;
    type SerializeTupleVariant = Impossible<(), Differs>;
    type SerializeMap = Impossible<(), Differs>;
    type SerializeStruct = Impossible<(), Differs>;
    type SerializeStructVariant = Impossible<(), Differs>;

    fn serialize_str(self, v: &str) -> Result<(), Differs> {
        self.0.clear();
        self.0.push_str(v);
        Ok(())
    }
    fn serialize_bool(self, _: bool) -> Result<(), Differs> {
        Err(Differs)
    }
    fn serialize_i8(self, _: i8) -> Result<(), Differs> {
        Err(Differs)
    }
    fn serialize_i16(self, _: i16) -> Result<(), Differs> {
        Err(Differs)
    }
    fn serialize_i32(self, _: i32) -> Result<(), Differs> {
        Err(Differs)
    }
    fn serialize_i64(self, _: i64) -> Result<(), Differs> {
        Err(Differs)
    }
    fn serialize_u8(self, _: u8) -> Result<(), Differs> {
        Err(Differs)
    }
    fn serialize_u16(self, _: u16) -> Result<(), Differs> {
        Err(Differs)
    }
    fn serialize_u32(self, _: u32) -> Result<(), Differs> {
        Err(Differs)
    }
    fn serialize_u64(self, _: u64) -> Result<(), Differs> {
        Err(Differs)
    }
    fn serialize_f32(self, _: f32) -> Result<(), Differs> {
        Err(Differs)
    }
    fn serialize_f64(self, _: f64) -> Result<(), Differs> {
        Err(Differs)
    }
    fn serialize_char(self, _: char) -> Result<(), Differs> {
        Err(Differs)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Differs> {
        Err(Differs)
    }
    fn serialize_none(self) -> Result<(), Differs> {
        Err(Differs)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Differs> {
        Err(Differs)
    }
    fn serialize_unit(self) -> Result<(), Differs> {
        Err(Differs)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Differs> {
        Err(Differs)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), Differs> {
        Err(Differs)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), Differs> {
        Err(Differs)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Differs> {
        Err(Differs)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Differs> {
        Err(Differs)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Differs> {
        Err(Differs)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Differs> {
        Err(Differs)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Differs> {
        Err(Differs)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Differs> {
        Err(Differs)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Differs> {
        Err(Differs)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Differs> {
        Err(Differs)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use serde_json::json;

    use super::*;
    use crate::crd::MarathonAppSpec;

    /// The comparison agrees with serde_json itself.
    fn agrees<T: Serialize>(value: &T, json: &Value) -> bool {
        let truth = serde_json::to_value(value).is_ok_and(|v| v == *json);
        assert_eq!(serializes_to(value, json), truth, "{json}");
        truth
    }

    #[derive(Serialize)]
    enum Variant {
        Unit,
        New(i32),
        Tuple(i32, bool),
        Struct { a: Option<u8> },
    }

    #[derive(Serialize)]
    struct Flat {
        a: i32,
        #[serde(skip_serializing_if = "Option::is_none")]
        b: Option<String>,
        #[serde(flatten)]
        extra: BTreeMap<String, Value>,
    }

    #[test]
    fn scalars_follow_serde_json() {
        assert!(agrees(&1u8, &json!(1)));
        assert!(!agrees(&1u8, &json!(1.0)), "1 and 1.0 are different numbers");
        assert!(agrees(&-3i64, &json!(-3)));
        assert!(!agrees(&-3i64, &json!(3)));
        assert!(agrees(&1.5f64, &json!(1.5)));
        assert!(agrees(&f64::NAN, &Value::Null), "a NaN serialises as null");
        assert!(!agrees(&1.0f64, &json!(1)));
        assert!(agrees(&"x", &json!("x")));
        assert!(!agrees(&"x", &json!("y")));
        assert!(agrees(&'c', &json!("c")));
        assert!(agrees(&None::<i32>, &Value::Null));
        assert!(agrees(&Some(true), &json!(true)));
        assert!(!agrees(&Some(true), &json!("true")));
        assert!(agrees(&(), &Value::Null));
    }

    #[test]
    fn containers_and_variants_follow_serde_json() {
        assert!(agrees(&vec![1, 2], &json!([1, 2])));
        assert!(!agrees(&vec![1, 2], &json!([1])));
        assert!(!agrees(&vec![1], &json!([1, 2])));
        assert!(!agrees(&vec![2, 1], &json!([1, 2])));
        assert!(agrees(&(1, "a"), &json!([1, "a"])));
        assert!(agrees(&Variant::Unit, &json!("Unit")));
        assert!(agrees(&Variant::New(3), &json!({"New": 3})));
        assert!(!agrees(&Variant::New(3), &json!({"New": 3, "x": 1})));
        assert!(agrees(&Variant::Tuple(1, true), &json!({"Tuple": [1, true]})));
        assert!(agrees(&Variant::Struct { a: None }, &json!({"Struct": {"a": null}})));
        assert!(!agrees(&Variant::Struct { a: None }, &json!({"Struct": {}})));
    }

    #[test]
    fn objects_match_whatever_the_key_order_but_not_more_or_fewer_keys() {
        let map: BTreeMap<&str, i32> = [("b", 2), ("a", 1)].into();
        assert!(agrees(&map, &json!({"b": 2, "a": 1})));
        assert!(!agrees(&map, &json!({"a": 1})));
        assert!(!agrees(&map, &json!({"a": 1, "b": 2, "c": 3})));
        assert!(!agrees(&map, &json!({"a": 1, "b": 3})));
        let flat = Flat { a: 1, b: None, extra: [("z".to_string(), json!([{}]))].into() };
        assert!(agrees(&flat, &json!({"z": [{}], "a": 1})));
        assert!(!agrees(&flat, &json!({"z": [{}], "a": 1, "b": null})));
        // A key serialised twice (here the flattened map repeats a field) is never "the same".
        let twice = Flat { a: 1, b: None, extra: [("a".to_string(), json!(1))].into() };
        assert!(!serializes_to(&twice, &json!({"a": 1})));
        let many: BTreeMap<String, i32> = (0..100).map(|i| (i.to_string(), i)).collect();
        assert!(!serializes_to(&many, &serde_json::to_value(&many).unwrap()), "not followed");
    }

    /// The objects with an `id` in a document, wherever they are (apps, groups, wrappers).
    fn apps_in(value: Value, out: &mut Vec<Value>) {
        match value {
            Value::Array(items) => items.into_iter().for_each(|item| apps_in(item, out)),
            Value::Object(mut map) => {
                for key in ["app", "apps", "groups"] {
                    map.remove(key).into_iter().for_each(|inner| apps_in(inner, out));
                }
                if map.get("id").is_some_and(Value::is_string) {
                    out.push(Value::Object(map));
                }
            }
            _ => {}
        }
    }

    /// Every app of the corpus: the comparison says what serde_json says, and for most apps the
    /// spec serialises back to the app's own JSON (the case the check saves work in).
    #[test]
    fn corpus_apps_agree_with_serde_json() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/marathon-examples");
        if !dir.is_dir() {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{} missing", dir.display());
            return eprintln!("skipped: {} is not present", dir.display());
        }
        let mut apps = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "json") {
                let text = std::fs::read_to_string(&path).unwrap();
                apps_in(serde_json::from_str(&text).unwrap_or_default(), &mut apps);
            }
        }
        let (mut same, mut all) = (0, 0);
        for app in apps {
            let mut json = app;
            super::super::strip_read_only(&mut json);
            let Ok(spec) = serde_json::from_value::<MarathonAppSpec>(json.clone()) else {
                continue;
            };
            all += 1;
            same += usize::from(agrees(&spec, &json));
            let mut changed = json.clone();
            changed["instances"] = json!(9.5);
            assert!(!agrees(&spec, &changed));
            if let Some(map) = changed.as_object_mut() {
                map.remove("id");
            }
            assert!(!agrees(&spec, &changed));
        }
        assert!(all > 40 && same * 2 > all, "{same} of {all} apps serialise back to their JSON");
    }
}
