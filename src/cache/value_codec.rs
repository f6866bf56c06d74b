//! How the tiered cache turns typed values into bytes, and what it writes down about it.
//!
//! The codec of a typed value is recorded in its envelope (three bits of the flags), so that a
//! reader decodes with the codec the value was written with, whatever its own builder says,
//! and other interfaces can tell what the bytes are (the CLI prints JSON and MessagePack
//! values as JSON).

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The encoding of typed values (`Cache::insert`, `get::<T>`, `get_with`...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ValueCodec {
    /// bincode 2: compact and the fastest; the reading type must match the written one.
    #[default]
    Bincode,
    /// JSON: readable by any program; a type that gained optional fields still decodes.
    Json,
    /// MessagePack: compact and self-describing; optional fields added later still decode.
    MessagePack,
}

/// What an envelope records about its payload, so that every interface reads the bytes the
/// way they were written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PayloadKind {
    /// Raw bytes (`insert_bytes`, `SET`, CLI `put`, Python `bytes`), or a typed value from
    /// before codecs were recorded (bincode).
    #[default]
    Bytes,
    /// A typed value in a codec.
    Typed(ValueCodec),
    /// UTF-8 text (a Python `str`): the bytes are the text, and a reader that asks for text
    /// gets a string back rather than bytes.
    Text,
    /// A Python pickle, stored only when the writer asked for pickle. Only a reader that
    /// also asked for pickle unpickles it (unpickling runs code named by the data).
    Pickle,
}

/// Every kind, in flag-bit order.
const KINDS: [PayloadKind; 6] = [
    PayloadKind::Bytes,
    PayloadKind::Typed(ValueCodec::Bincode),
    PayloadKind::Typed(ValueCodec::Json),
    PayloadKind::Typed(ValueCodec::MessagePack),
    PayloadKind::Text,
    PayloadKind::Pickle,
];

impl PayloadKind {
    /// The three flag bits.
    pub fn bits(self) -> u8 {
        KINDS.iter().position(|k| *k == self).unwrap_or(0) as u8
    }

    /// From the three flag bits; `None` for a kind this version does not know.
    pub fn from_bits(bits: u8) -> Option<Self> {
        KINDS.get(bits as usize).copied()
    }

    /// The codec, for a typed value.
    pub fn codec(self) -> Option<ValueCodec> {
        match self {
            PayloadKind::Typed(codec) => Some(codec),
            _ => None,
        }
    }

    /// A short name: `bytes`, `text`, `pickle`, or the codec's name (`bincode`, `json`,
    /// `msgpack`). The server's `SC.GET` replies it.
    pub fn name(self) -> &'static str {
        match self {
            PayloadKind::Bytes => "bytes",
            PayloadKind::Typed(codec) => codec.name(),
            PayloadKind::Text => "text",
            PayloadKind::Pickle => "pickle",
        }
    }

    /// The kind named `name` (as [`PayloadKind::name`] gives it).
    pub fn from_name(name: &str) -> Option<Self> {
        KINDS.iter().copied().find(|k| k.name() == name)
    }
}

/// The bincode configuration of typed values. The limit stops a damaged length prefix from
/// asking for a huge allocation.
pub(crate) fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<{ 1 << 30 }>()
}

impl ValueCodec {
    /// Appends `value` encoded to `out`.
    pub(crate) fn encode<T: Serialize + ?Sized>(
        self,
        value: &T,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        match self {
            ValueCodec::Bincode => {
                bincode::serde::encode_into_std_write(value, out, bincode_config())
                    .map(drop)
                    .map_err(|e| e.to_string())
            }
            ValueCodec::Json => serde_json::to_writer(out, value).map_err(|e| e.to_string()),
            ValueCodec::MessagePack => {
                rmp_serde::encode::write_named(out, value).map_err(|e| e.to_string())
            }
        }
    }

    /// A short name: `bincode`, `json`, `msgpack`.
    pub fn name(self) -> &'static str {
        match self {
            ValueCodec::Bincode => "bincode",
            ValueCodec::Json => "json",
            ValueCodec::MessagePack => "msgpack",
        }
    }

    /// The codec named `name` (as [`ValueCodec::name`] gives it).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "bincode" => Some(ValueCodec::Bincode),
            "json" => Some(ValueCodec::Json),
            "msgpack" => Some(ValueCodec::MessagePack),
            _ => None,
        }
    }
}

/// A serialization error naming the key.
pub(crate) fn serialization(key: &[u8], e: impl std::fmt::Display) -> crate::error::Error {
    crate::error::Error::Serialization {
        what: format!("value of key {:?}", String::from_utf8_lossy(key)),
        message: e.to_string(),
    }
}

/// Decodes a payload recorded as `kind` as a `T`.
pub(crate) fn decode<T: DeserializeOwned>(kind: PayloadKind, payload: &[u8]) -> Result<T, String> {
    let codec = match kind {
        PayloadKind::Typed(codec) => codec,
        PayloadKind::Bytes => ValueCodec::Bincode,
        PayloadKind::Text => {
            let text = std::str::from_utf8(payload).map_err(|e| format!("text value: {e}"))?;
            let reader = serde::de::value::StrDeserializer::<serde::de::value::Error>::new(text);
            return T::deserialize(reader).map_err(|e| format!("text value: {e}"));
        }
        PayloadKind::Pickle => {
            return Err("the value is a Python pickle, which only Python reads".into());
        }
    };
    match codec {
        ValueCodec::Bincode => bincode::serde::decode_from_slice::<T, _>(payload, bincode_config())
            .map(|(value, _)| value)
            .map_err(|e| e.to_string()),
        ValueCodec::Json => serde_json::from_slice(payload).map_err(|e| e.to_string()),
        ValueCodec::MessagePack => rmp_serde::from_slice(payload).map_err(|e| e.to_string()),
    }
}

/// A JSON rendering of a typed payload for people (JSON as it is, MessagePack converted);
/// `None` for bytes and bincode, which do not describe themselves.
pub fn to_json(kind: PayloadKind, payload: &[u8]) -> Option<Vec<u8>> {
    kind.codec()?.to_json(payload)
}

impl ValueCodec {
    /// A payload in this codec as JSON for people: JSON as it is, MessagePack converted;
    /// `None` for bincode (not self-describing) or a payload that does not decode.
    pub fn to_json(self, payload: &[u8]) -> Option<Vec<u8>> {
        match self {
            ValueCodec::Json => Some(payload.to_vec()),
            ValueCodec::MessagePack => {
                let value: serde_json::Value = rmp_serde::from_slice(payload).ok()?;
                serde_json::to_vec(&value).ok()
            }
            ValueCodec::Bincode => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct V1 {
        id: u32,
        text: String,
    }

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct V2 {
        id: u32,
        text: String,
        #[serde(default)]
        language: Option<String>,
    }

    #[test]
    fn self_describing_codecs_read_a_grown_type() {
        let old = V1 {
            id: 7,
            text: "Hallo".into(),
        };
        for codec in [ValueCodec::Json, ValueCodec::MessagePack] {
            let mut bytes = Vec::new();
            codec.encode(&old, &mut bytes).unwrap();
            let new: V2 = decode(PayloadKind::Typed(codec), &bytes).unwrap();
            assert_eq!(
                (new.id, new.text.as_str(), new.language),
                (7, "Hallo", None)
            );
        }
        let mut bytes = Vec::new();
        ValueCodec::Bincode.encode(&old, &mut bytes).unwrap();
        assert!(decode::<V2>(PayloadKind::Typed(ValueCodec::Bincode), &bytes).is_err());
        for bits in 0..6 {
            let kind = PayloadKind::from_bits(bits).unwrap();
            assert_eq!(kind.bits(), bits);
            assert_eq!(PayloadKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(PayloadKind::from_bits(6), None);
    }
}
