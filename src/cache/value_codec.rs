//! How the tiered cache turns typed values into bytes, and what it writes down about it.
//!
//! The codec of a typed value is recorded in its envelope (two bits of the flags), so that a
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

/// What an envelope records about its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PayloadKind {
    /// Raw bytes (`insert_bytes`), or a typed value from before codecs were recorded
    /// (bincode).
    #[default]
    Bytes,
    /// A typed value in a codec.
    Typed(ValueCodec),
}

impl PayloadKind {
    /// The two flag bits.
    pub fn bits(self) -> u8 {
        match self {
            PayloadKind::Bytes => 0,
            PayloadKind::Typed(ValueCodec::Bincode) => 1,
            PayloadKind::Typed(ValueCodec::Json) => 2,
            PayloadKind::Typed(ValueCodec::MessagePack) => 3,
        }
    }

    /// From the two flag bits.
    pub fn from_bits(bits: u8) -> Self {
        match bits & 3 {
            1 => PayloadKind::Typed(ValueCodec::Bincode),
            2 => PayloadKind::Typed(ValueCodec::Json),
            3 => PayloadKind::Typed(ValueCodec::MessagePack),
            _ => PayloadKind::Bytes,
        }
    }

    /// The codec, for a typed value.
    pub fn codec(self) -> Option<ValueCodec> {
        match self {
            PayloadKind::Bytes => None,
            PayloadKind::Typed(codec) => Some(codec),
        }
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
    match kind.codec().unwrap_or(ValueCodec::Bincode) {
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
        for bits in 0..4 {
            assert_eq!(PayloadKind::from_bits(bits).bits(), bits);
        }
    }
}
