//! The item: its API shapes, validation rules and pagination cursor.

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDateTime, SecondsFormat, SubsecRound, Utc};
use regex::Regex;
use serde::{Deserialize, Serialize};
use utoipa::openapi::{Object, OpenApi, RefOr, Schema};
use utoipa::{Modify, ToSchema};
use uuid::Uuid;
use validator::{Validate, ValidationError, ValidationErrors};

use crate::entity::item;
use crate::error::{ApiError, FieldError};

// The item's rules, in one place: validation, the OpenAPI schemas ([`ItemRules`]) and read-api's
// list filters use them. (The migration keeps its own column sizes: it is a record of history.)
pub const SKU_MAX_CHARS: u64 = 64;
pub const SKU_PATTERN: &str = r"^[A-Za-z0-9][A-Za-z0-9._-]*$";
pub const NAME_MAX_CHARS: u64 = 200;
/// Not blank; the name is also trimmed before validation.
pub const NAME_PATTERN: &str = r"\S";
pub const DESCRIPTION_MAX_CHARS: u64 = 2000;
pub const MAX_PRICE_CENTS: i64 = 1_000_000_000_000;
pub const CURRENCY_CHARS: u64 = 3;
pub const CURRENCY_PATTERN: &str = r"^[A-Z]{3}$";
pub const MAX_STOCK: i64 = 1_000_000_000;

static SKU: LazyLock<Regex> = LazyLock::new(|| Regex::new(SKU_PATTERN).expect("valid regex"));
static CURRENCY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(CURRENCY_PATTERN).expect("valid regex"));

/// Whether `sku` follows the SKU rule (ASCII only), as writes and read-api's `?sku=` filter require.
pub fn is_valid_sku(sku: &str) -> bool {
    sku.len() as u64 <= SKU_MAX_CHARS && SKU.is_match(sku)
}

// A message's `{min}` and `{max}` are filled in with the rule's bounds (`message_of`).
/// Every mutable field of an item: the body of `POST` and `PUT`, and the result of a `PATCH`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    /// Stock-keeping unit, unique regardless of case.
    #[validate(
        length(min = 1, max = SKU_MAX_CHARS, message = "must be {min} to {max} characters"),
        regex(path = *SKU, message = "must start with a letter or digit and contain only letters, digits, '.', '_' and '-'")
    )]
    #[schema(example = "MUG-001")]
    pub sku: String,
    /// Display name; surrounding whitespace is trimmed.
    #[validate(length(
        min = 1,
        max = NAME_MAX_CHARS,
        message = "must be {min} to {max} characters after trimming"
    ))]
    #[schema(example = "Coffee mug")]
    pub name: String,
    /// Free text; `null` or absent means none.
    #[serde(default)]
    #[validate(length(max = DESCRIPTION_MAX_CHARS, message = "must be at most {max} characters"))]
    pub description: Option<String>,
    /// Price in the currency's minor unit.
    #[validate(range(min = 0, max = MAX_PRICE_CENTS, message = "must be between {min} and {max}"))]
    #[schema(example = 1299)]
    pub price_cents: i64,
    /// ISO 4217 code.
    #[validate(regex(path = *CURRENCY, message = "must be three upper-case letters (ISO 4217)"))]
    #[schema(example = "EUR")]
    pub currency: String,
    #[validate(range(min = 0, max = MAX_STOCK, message = "must be between {min} and {max}"))]
    #[schema(example = 42)]
    pub stock: i64,
}

/// Writes the item's rules into the OpenAPI schemas of the item's inputs: the component schemas
/// named in `schemas`, whose properties are item fields. (utoipa's attributes take only literals.)
pub struct ItemRules {
    pub schemas: &'static [&'static str],
}

impl Modify for ItemRules {
    fn modify(&self, openapi: &mut OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for name in self.schemas {
            let Some(RefOr::T(Schema::Object(input))) = components.schemas.get_mut(*name) else {
                panic!("the OpenAPI document has no object schema `{name}`");
            };
            for (field, property) in &mut input.properties {
                let RefOr::T(Schema::Object(property)) = property else {
                    panic!("`{name}.{field}` is not an inline schema");
                };
                apply_field_rules(field, property);
            }
        }
    }
}

fn apply_field_rules(field: &str, schema: &mut Object) {
    let text = |schema: &mut Object, min: u64, max: u64, pattern: Option<&str>| {
        schema.min_length = (min > 0).then_some(min as usize);
        schema.max_length = Some(max as usize);
        schema.pattern = pattern.map(str::to_owned);
    };
    let range = |schema: &mut Object, max: i64| {
        schema.minimum = Some(0.into());
        schema.maximum = Some(max.into());
    };
    match field {
        "sku" => text(schema, 1, SKU_MAX_CHARS, Some(SKU_PATTERN)),
        "name" => text(schema, 1, NAME_MAX_CHARS, Some(NAME_PATTERN)),
        "description" => text(schema, 0, DESCRIPTION_MAX_CHARS, None),
        "price_cents" => range(schema, MAX_PRICE_CENTS),
        "currency" => text(
            schema,
            CURRENCY_CHARS,
            CURRENCY_CHARS,
            Some(CURRENCY_PATTERN),
        ),
        "stock" => range(schema, MAX_STOCK),
        other => panic!("no rules for item field `{other}`"),
    }
}

impl ItemInput {
    /// Reads an input from a JSON value: type errors, unknown and missing fields and rule
    /// violations all come back as field errors (422).
    pub fn from_json(value: serde_json::Value) -> Result<ItemInput, ApiError> {
        if !value.is_object() {
            return Err(ApiError::Validation(vec![FieldError::new(
                "",
                "the body must be a JSON object",
            )]));
        }
        let mut input: ItemInput = serde_path_to_error::deserialize(value)
            .map_err(|e| ApiError::Validation(vec![field_error_of(&e)]))?;
        input.name = input.name.trim().to_owned();
        input
            .validate()
            .map_err(|errors| ApiError::Validation(field_errors(&errors)))?;
        Ok(input)
    }

    /// The input's fields as a JSON object, the target a merge patch applies to.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("an ItemInput always serializes")
    }
}

static QUOTED_FIELD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"field `([^`]*)`").expect("valid regex"));

fn field_error_of(error: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    let message = error.inner().to_string();
    let path = error.path().to_string();
    // serde reports unknown and missing fields at the enclosing object; name the field itself.
    let field = match QUOTED_FIELD.captures(&message) {
        Some(captures) if path == "." => captures[1].to_owned(),
        _ => path,
    };
    let message = message
        .split(" at line")
        .next()
        .unwrap_or(&message)
        .to_owned();
    FieldError::new(field, message)
}

fn field_errors(errors: &ValidationErrors) -> Vec<FieldError> {
    let mut out: Vec<FieldError> = errors
        .field_errors()
        .into_iter()
        .flat_map(|(field, errors)| {
            errors
                .iter()
                .map(move |e| FieldError::new(field.to_string(), message_of(e)))
        })
        .collect();
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

/// The mutable fields of a stored item.
impl From<&item::Model> for ItemInput {
    fn from(model: &item::Model) -> Self {
        ItemInput {
            sku: model.sku.clone(),
            name: model.name.clone(),
            description: model.description.clone(),
            price_cents: model.price_cents,
            currency: model.currency.clone(),
            stock: model.stock,
        }
    }
}

/// A rule's message with its `{min}` and `{max}` filled in from the rule.
fn message_of(error: &ValidationError) -> String {
    let Some(message) = &error.message else {
        return error.code.to_string();
    };
    ["min", "max"]
        .into_iter()
        .fold(message.to_string(), |message, bound| {
            match error.params.get(bound) {
                Some(value) => message.replace(&format!("{{{bound}}}"), &value.to_string()),
                None => message,
            }
        })
}

/// An item as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Item {
    /// UUIDv7, assigned by the server.
    pub id: Uuid,
    pub sku: String,
    pub name: String,
    pub description: Option<String>,
    pub price_cents: i64,
    pub currency: String,
    pub stock: i64,
    /// 1 on create, +1 on every change; the ETag is this number, quoted.
    pub version: i64,
    /// RFC 3339, UTC, millisecond precision.
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<item::Model> for Item {
    fn from(model: item::Model) -> Self {
        Item {
            id: model.id,
            sku: model.sku,
            name: model.name,
            description: model.description,
            price_cents: model.price_cents,
            currency: model.currency,
            stock: model.stock,
            version: model.version,
            created_at: format_timestamp(model.created_at),
            updated_at: format_timestamp(model.updated_at),
        }
    }
}

/// A page of items.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ItemPage {
    pub items: Vec<Item>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Now, truncated to what the database stores (milliseconds), so responses match later reads.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(3)
}

/// RFC 3339 in UTC with milliseconds, e.g. `2026-11-21T10:00:00.123Z` (not `format`, which parses
/// its pattern on every call: two per item of a page).
fn format_timestamp(at: NaiveDateTime) -> String {
    DateTime::<Utc>::from_naive_utc_and_offset(at, Utc).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Opaque keyset cursor: the last id of a page.
pub fn encode_cursor(last_id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(last_id.as_bytes())
}

pub fn decode_cursor(cursor: &str) -> Result<Uuid, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| Uuid::from_slice(&bytes).ok())
        .ok_or_else(|| ApiError::BadRequest("cursor is not one this API issued".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> serde_json::Value {
        json!({"sku": "MUG-001", "name": "  Mug  ", "description": null, "price_cents": 1299, "currency": "EUR", "stock": 3})
    }

    #[test]
    fn valid_input_is_trimmed() {
        let input = ItemInput::from_json(valid()).unwrap();
        assert_eq!(input.name, "Mug");
        assert_eq!(input.description, None);
    }

    fn fields_of(value: serde_json::Value) -> Vec<String> {
        match ItemInput::from_json(value) {
            Err(ApiError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn every_rule_names_its_field() {
        let mut v = valid();
        v["sku"] = json!("-bad");
        v["name"] = json!("   ");
        v["price_cents"] = json!(-1);
        v["currency"] = json!("eur");
        v["stock"] = json!(1_000_000_001);
        v["description"] = json!("x".repeat(2001));
        assert_eq!(
            fields_of(v),
            [
                "currency",
                "description",
                "name",
                "price_cents",
                "sku",
                "stock"
            ]
        );
    }

    #[test]
    fn messages_carry_the_rules_bounds() {
        let mut v = valid();
        v["sku"] = json!("x".repeat(65));
        v["description"] = json!("x".repeat(2001));
        v["price_cents"] = json!(MAX_PRICE_CENTS + 1);
        let Err(ApiError::Validation(errors)) = ItemInput::from_json(v) else {
            panic!("expected a validation error");
        };
        let messages: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(
            messages,
            [
                ("description", "must be at most 2000 characters"),
                ("price_cents", "must be between 0 and 1000000000000"),
                ("sku", "must be 1 to 64 characters"),
            ]
        );
    }

    #[test]
    fn the_openapi_schema_states_the_rules() {
        #[derive(utoipa::OpenApi)]
        #[openapi(components(schemas(ItemInput)), modifiers(&RULES))]
        struct Doc;
        const RULES: ItemRules = ItemRules {
            schemas: &["ItemInput"],
        };
        let doc = serde_json::to_value(<Doc as utoipa::OpenApi>::openapi()).unwrap();
        let fields = &doc["components"]["schemas"]["ItemInput"]["properties"];
        assert_eq!(fields["sku"]["maxLength"], json!(SKU_MAX_CHARS));
        assert_eq!(fields["sku"]["pattern"], json!(SKU_PATTERN));
        assert_eq!(fields["name"]["minLength"], json!(1));
        assert_eq!(
            fields["description"]["maxLength"],
            json!(DESCRIPTION_MAX_CHARS)
        );
        assert_eq!(fields["description"].get("minLength"), None);
        assert_eq!(fields["price_cents"]["maximum"], json!(MAX_PRICE_CENTS));
        assert_eq!(fields["currency"]["pattern"], json!(CURRENCY_PATTERN));
        assert_eq!(fields["stock"]["minimum"], json!(0));
    }

    #[test]
    fn type_unknown_and_missing_fields_are_field_errors() {
        let mut v = valid();
        v["price_cents"] = json!("12");
        assert_eq!(fields_of(v), ["price_cents"]);
        let mut v = valid();
        v["colour"] = json!("red");
        assert_eq!(fields_of(v), ["colour"]);
        let mut v = valid();
        v.as_object_mut().unwrap().remove("sku");
        assert_eq!(fields_of(v), ["sku"]);
        assert_eq!(fields_of(json!([1])), [""]);
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        let mut v = valid();
        v["name"] = json!("é".repeat(200));
        assert!(ItemInput::from_json(v).is_ok());
    }

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(id)).unwrap(), id);
        assert!(decode_cursor("not-a-cursor").is_err());
        assert!(decode_cursor("").is_err());
    }

    #[test]
    fn timestamps_are_rfc3339_with_milliseconds() {
        let at = NaiveDateTime::parse_from_str("2026-01-02 03:04:05.678", "%Y-%m-%d %H:%M:%S%.3f")
            .unwrap();
        assert_eq!(format_timestamp(at), "2026-01-02T03:04:05.678Z");
    }
}
