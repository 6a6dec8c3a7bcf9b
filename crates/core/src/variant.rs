//! Enums that stay open to variants added by newer versions of tapin.
//!
//! A record's enum fields (a channel, a goal's status, a principle) are stored as the variant's
//! name, `"InPerson"`. A newer tapin may add a variant; this build must still read the record,
//! show something sensible for the value it does not know, and write the record back without
//! changing that value. [`open_enum!`] declares such an enum: the known variants, plus
//! `Unknown(VariantName)` holding the name as stored.
//!
//! Names are written in two forms: in documents as the variant's name (`InPerson`), in JSON (the
//! export, `--json`) in kebab case (`in-person`). An unknown name converts between the two the
//! same way, so an unknown value survives an export and an import too.

use std::fmt;

/// The longest variant name kept; a longer one makes its record unreadable.
pub const MAX_VARIANT_NAME: usize = 32;

/// The stored name of a variant this build does not know: 1–32 ASCII letters and digits,
/// starting with an upper-case letter (`"Email"`). Small and `Copy`, like the enums it sits in.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VariantName {
    len: u8,
    bytes: [u8; MAX_VARIANT_NAME],
}

impl VariantName {
    /// A stored name (`"Email"`), if it is one tapin could have written.
    pub fn from_stored(name: &str) -> Option<Self> {
        let valid = (1..=MAX_VARIANT_NAME).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_uppercase())
            && name.bytes().all(|b| b.is_ascii_alphanumeric());
        if !valid {
            return None;
        }
        let mut bytes = [0; MAX_VARIANT_NAME];
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        Some(VariantName {
            len: name.len() as u8,
            bytes,
        })
    }

    /// A name in its JSON form (`"e-mail"`), if it converts to a valid stored name.
    pub fn from_json(name: &str) -> Option<Self> {
        let valid = !name.is_empty()
            && name.split('-').all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            })
            && name.starts_with(|c: char| c.is_ascii_lowercase());
        if !valid {
            return None;
        }
        let stored: String = name
            .split('-')
            .map(|part| {
                let mut chars = part.chars();
                chars
                    .next()
                    .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            })
            .collect();
        Self::from_stored(&stored)
    }

    /// The name as stored in documents: `"InPerson"`.
    pub fn stored(&self) -> &str {
        // Only ever built from ASCII.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }

    /// The name as written in JSON and shown to people: `"in-person"`.
    pub fn json(&self) -> String {
        to_kebab(self.stored())
    }
}

/// `"InPerson"` → `"in-person"`.
pub fn to_kebab(stored: &str) -> String {
    let mut out = String::with_capacity(stored.len() + 4);
    for (i, c) in stored.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

impl fmt::Debug for VariantName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VariantName({:?})", self.stored())
    }
}

impl fmt::Display for VariantName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.json())
    }
}

/// Declares an open unit enum: its known variants (each stored as its name, shown in kebab
/// case) plus `Unknown(VariantName)`, with autosurgeon's `Hydrate` and `Reconcile` and serde's
/// `Serialize` and `Deserialize` written so that an unknown name is kept as it was. See the
/// module docs.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value written by a newer tapin, kept as it was stored.
            Unknown($crate::variant::VariantName),
        }

        impl $name {
            /// Every variant this build knows, in declaration order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            /// The name as stored in documents (`"InPerson"`).
            pub fn stored_name(&self) -> &str {
                match self {
                    $($name::$variant => stringify!($variant),)+
                    $name::Unknown(name) => name.stored(),
                }
            }

            /// The name as written in JSON and shown to people (`"in-person"`).
            pub fn json_name(&self) -> String {
                $crate::variant::to_kebab(self.stored_name())
            }

            /// The variant with this stored name; an unknown but well-formed name becomes
            /// [`Self::Unknown`], anything else `None`.
            pub fn from_stored(name: &str) -> Option<Self> {
                match name {
                    $(stringify!($variant) => Some($name::$variant),)+
                    other => $crate::variant::VariantName::from_stored(other).map($name::Unknown),
                }
            }

            /// The variant with this JSON name (`"in-person"`); see [`Self::from_stored`].
            pub fn from_json(name: &str) -> Option<Self> {
                $crate::variant::VariantName::from_json(name)
                    .and_then(|n| Self::from_stored(n.stored()))
            }

            /// Whether this build knows the variant.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Unknown(_))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.json_name())
            }
        }

        impl ::autosurgeon::Hydrate for $name {
            fn hydrate_string(s: &'_ str) -> ::std::result::Result<Self, ::autosurgeon::HydrateError> {
                $name::from_stored(s).ok_or_else(|| {
                    ::autosurgeon::HydrateError::unexpected(
                        concat!("a ", stringify!($name), " name"),
                        s.chars().take(40).collect(),
                    )
                })
            }
        }

        impl ::autosurgeon::Reconcile for $name {
            type Key<'a> = ::autosurgeon::reconcile::NoKey;

            fn reconcile<R: ::autosurgeon::Reconciler>(
                &self,
                mut reconciler: R,
            ) -> ::std::result::Result<(), R::Error> {
                reconciler.str(self.stored_name())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(&self.json_name())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                let name = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                $name::from_json(&name).ok_or_else(|| {
                    ::serde::de::Error::custom(format!(
                        concat!("{:?} is not a ", stringify!($name), " (expected one of {})"),
                        name.chars().take(40).collect::<String>(),
                        $name::KNOWN.iter().map(|v| v.json_name()).collect::<Vec<_>>().join(", ")
                    ))
                })
            }
        }
    };
}

pub(crate) use open_enum;

#[cfg(test)]
#[allow(unreachable_pub)]
mod tests {
    open_enum! {
        /// A test enum.
        enum Colour {
            /// Red.
            DeepRed,
            /// Blue.
            Blue,
        }
    }

    #[test]
    fn names_convert_both_ways_for_known_and_unknown_variants() {
        assert_eq!(Colour::DeepRed.stored_name(), "DeepRed");
        assert_eq!(Colour::DeepRed.json_name(), "deep-red");
        assert_eq!(Colour::from_json("deep-red"), Some(Colour::DeepRed));
        let green = Colour::from_stored("PaleGreen2").unwrap();
        assert!(!green.is_known());
        assert_eq!(green.json_name(), "pale-green2");
        assert_eq!(Colour::from_json("pale-green2"), Some(green));
        assert_eq!(serde_json::to_string(&green).unwrap(), "\"pale-green2\"");
        let back: Colour = serde_json::from_str("\"pale-green2\"").unwrap();
        assert_eq!(back, green);
    }

    #[test]
    fn malformed_names_are_refused() {
        for bad in ["", "lower", "Has space", "Ümlaut", &"A".repeat(33)] {
            assert_eq!(Colour::from_stored(bad), None, "{bad:?}");
        }
        for bad in ["", "Upper", "double--dash", "-lead", "trail-", "x y"] {
            assert_eq!(Colour::from_json(bad), None, "{bad:?}");
        }
        assert!(serde_json::from_str::<Colour>("\"Upper\"").is_err());
    }
}
