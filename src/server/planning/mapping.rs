//! Planning codes and Odoo records: items to products (explicit rows win over the default
//! match on the product's internal reference as the poller stored it), locations to
//! warehouses (by code), units to the Odoo unit a product is kept in (with a factor), and
//! each source's column-mapping profile. Edited on `/planning/mapping`, audited; read
//! whole into a [`Catalog`] for one validation.

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::PlanningError;
use crate::domain::planning::{self, NumberFormat, SnapshotKind};
use crate::model::planning::{ItemMapping, LocationMapping, Profile, UnitMapping};
use crate::server::auth::users::audit;
use crate::server::auth::CurrentUser;
use crate::server::db::{self, Db};

/// What one validation maps with.
#[derive(Default)]
pub struct Catalog {
    /// item code → product id: the default match first, explicit rows over it.
    items: HashMap<String, i64>,
    /// product id → the name of the unit it is kept in, where an order line showed it.
    product_uom: HashMap<i64, String>,
    /// location code → warehouse code.
    locations: HashMap<String, String>,
    /// unit code (lowercase) → (Odoo unit, factor).
    units: HashMap<String, (String, Decimal)>,
}

/// A unit as the catalog maps it for one product.
#[derive(Debug, PartialEq)]
pub enum UnitMatch {
    /// Multiply by the factor to count in the product's unit.
    Factor(Decimal),
    /// Mapped to another Odoo unit than the product's: no conversion is guessed.
    OtherUnit {
        mapped: String,
        product: String,
    },
    Unknown,
}

impl Catalog {
    pub async fn load(db: &Db) -> Result<Catalog, sqlx::Error> {
        let mut c = Catalog::default();
        for (id, code, uom) in known_products(db).await? {
            c.items.entry(code).or_insert(id);
            c.product_uom.insert(id, uom);
        }
        let explicit: Vec<(String, i64)> =
            sqlx::query_as("SELECT item_code, product_odoo_id FROM planning_items")
                .fetch_all(db)
                .await?;
        c.items.extend(explicit);
        let locations: Vec<(String, String)> =
            sqlx::query_as("SELECT location_code, warehouse_code FROM planning_locations")
                .fetch_all(db)
                .await?;
        c.locations.extend(locations);
        let units: Vec<(String, String, String)> =
            sqlx::query_as("SELECT unit_code, uom_name, factor FROM planning_units")
                .fetch_all(db)
                .await?;
        for (code, uom, factor) in units {
            c.units.insert(
                code.to_lowercase(),
                (uom, db::decimal(&factor).unwrap_or(Decimal::ONE)),
            );
        }
        Ok(c)
    }

    pub fn product(&self, item: &str) -> Option<i64> {
        self.items.get(item).copied()
    }

    pub fn warehouse(&self, location: &str) -> Option<&str> {
        self.locations.get(location).map(String::as_str)
    }

    /// How `unit` converts for `product`: an explicit unit row (whose Odoo unit must be the
    /// product's, where known), else the product's own unit by name with factor 1.
    pub fn unit(&self, unit: &str, product: Option<i64>) -> UnitMatch {
        let kept_in = product.and_then(|p| self.product_uom.get(&p));
        match (self.units.get(&unit.to_lowercase()), kept_in) {
            (Some((mapped, _)), Some(kept)) if !mapped.eq_ignore_ascii_case(kept) => {
                UnitMatch::OtherUnit {
                    mapped: mapped.clone(),
                    product: kept.clone(),
                }
            }
            (Some((_, factor)), _) => UnitMatch::Factor(*factor),
            (None, Some(kept)) if kept.eq_ignore_ascii_case(unit.trim()) => {
                UnitMatch::Factor(Decimal::ONE)
            }
            _ => UnitMatch::Unknown,
        }
    }
}

/// Products the poller has seen on order lines: (Odoo id, internal reference, unit).
pub async fn known_products(db: &Db) -> Result<Vec<(i64, String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT product_odoo_id, product_code, MAX(uom) FROM purchase_order_lines
         WHERE product_odoo_id IS NOT NULL AND product_code <> ''
         GROUP BY product_odoo_id, product_code ORDER BY product_code",
    )
    .fetch_all(db)
    .await
}

/// How one source writes its files, read for a validation.
#[derive(Clone, Debug)]
pub struct SourceFormat {
    /// Lowercased source column → canonical field.
    pub columns: HashMap<String, String>,
    pub date_format: String,
    pub number: NumberFormat,
    pub delimiter: u8,
}

impl Default for SourceFormat {
    fn default() -> Self {
        SourceFormat {
            columns: HashMap::new(),
            date_format: planning::CANONICAL_DATE_FORMAT.into(),
            number: NumberFormat::default(),
            delimiter: b',',
        }
    }
}

impl SourceFormat {
    /// The canonical field a column of the file stands for (its own name when the profile
    /// does not rename it).
    pub fn field_of(&self, column: &str) -> String {
        let key = column.trim().trim_start_matches('\u{feff}').to_lowercase();
        self.columns.get(&key).cloned().unwrap_or(key)
    }
}

pub async fn source_format(db: &Db, source: &str) -> Result<SourceFormat, sqlx::Error> {
    let row: Option<(String, String, String, String)> = sqlx::query_as(
        "SELECT columns, date_format, decimal_separator, delimiter FROM planning_profiles WHERE source = $1",
    )
    .bind(source)
    .fetch_optional(db)
    .await?;
    let Some((columns, date_format, decimal, delimiter)) = row else {
        return Ok(SourceFormat::default());
    };
    let columns: HashMap<String, String> = serde_json::from_str(&columns).unwrap_or_default();
    Ok(SourceFormat {
        columns: columns
            .into_iter()
            .map(|(k, v)| (k.to_lowercase(), v))
            .collect(),
        date_format,
        number: NumberFormat {
            decimal_separator: decimal.chars().next().unwrap_or('.'),
        },
        delimiter: delimiter.bytes().next().unwrap_or(b','),
    })
}

/// Everything mapped, for the mapping page.
pub async fn all(
    db: &Db,
) -> Result<
    (
        Vec<ItemMapping>,
        Vec<LocationMapping>,
        Vec<UnitMapping>,
        Vec<Profile>,
    ),
    sqlx::Error,
> {
    let items: Vec<(String, i64, Option<String>)> = sqlx::query_as(
        "SELECT i.item_code, i.product_odoo_id,
                (SELECT MAX(l.product_code) FROM purchase_order_lines l WHERE l.product_odoo_id = i.product_odoo_id)
         FROM planning_items i ORDER BY i.item_code",
    )
    .fetch_all(db)
    .await?;
    let locations: Vec<(String, String, Option<i64>)> = sqlx::query_as(
        "SELECT location_code, warehouse_code, warehouse_odoo_id FROM planning_locations ORDER BY location_code",
    )
    .fetch_all(db)
    .await?;
    let units: Vec<(String, String, String)> =
        sqlx::query_as("SELECT unit_code, uom_name, factor FROM planning_units ORDER BY unit_code")
            .fetch_all(db)
            .await?;
    let profiles: Vec<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT source, columns, date_format, decimal_separator, delimiter FROM planning_profiles ORDER BY source",
    )
    .fetch_all(db)
    .await?;
    Ok((
        items
            .into_iter()
            .map(|(item_code, product_odoo_id, product_code)| ItemMapping {
                item_code,
                product_odoo_id,
                product_code,
            })
            .collect(),
        locations
            .into_iter()
            .map(
                |(location_code, warehouse_code, warehouse_odoo_id)| LocationMapping {
                    location_code,
                    warehouse_code,
                    warehouse_odoo_id,
                },
            )
            .collect(),
        units
            .into_iter()
            .map(|(unit_code, uom_name, factor)| UnitMapping {
                unit_code,
                uom_name,
                factor,
            })
            .collect(),
        profiles
            .into_iter()
            .map(
                |(source, columns, date_format, decimal_separator, delimiter)| Profile {
                    source,
                    columns: columns_as_lines(&columns),
                    date_format,
                    decimal_separator,
                    delimiter,
                },
            )
            .collect(),
    ))
}

fn columns_as_lines(json: &str) -> String {
    let map: std::collections::BTreeMap<String, String> =
        serde_json::from_str(json).unwrap_or_default();
    map.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn code(what: &str, value: &str) -> Result<String, PlanningError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > 100 || v.chars().any(char::is_control) {
        return Err(PlanningError::Invalid(format!(
            "Give the {what} as it is written in the planning files (1 to 100 characters)."
        )));
    }
    Ok(v.to_string())
}

/// Maps a planning item to a product the poller has seen, given by Odoo id or internal reference.
pub async fn set_item(
    db: &Db,
    actor: &CurrentUser,
    item: &str,
    product: &str,
    ip: &str,
) -> Result<String, PlanningError> {
    let item = code("item code", item)?;
    let product = product.trim();
    let known = known_products(db).await?;
    let Some((id, reference, _)) = known
        .into_iter()
        .find(|(id, reference, _)| product == reference || product == id.to_string())
    else {
        return Err(PlanningError::Invalid(format!(
            "No product “{product}” among those on the orders the portal has read: give its internal reference or Odoo id."
        )));
    };
    let mut tx = db::write(db).await?;
    sqlx::query(
        "INSERT INTO planning_items (item_code, product_odoo_id, updated_by, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (item_code) DO UPDATE SET product_odoo_id = excluded.product_odoo_id, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(&item)
    .bind(id)
    .bind(actor.id)
    .bind(db::now())
    .execute(&mut *tx)
    .await?;
    audit(
        &mut *tx,
        Some(actor.id),
        "planning_item_mapped",
        &item,
        &format!("product {reference} (odoo id {id})"),
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(format!("Item {item} now stands for product {reference}."))
}

/// Maps a planning location to an Odoo warehouse by its code.
pub async fn set_location(
    db: &Db,
    actor: &CurrentUser,
    location: &str,
    warehouse_code: &str,
    warehouse_odoo_id: Option<i64>,
    ip: &str,
) -> Result<String, PlanningError> {
    let location = code("location code", location)?;
    let warehouse = code("warehouse code", warehouse_code)?;
    let mut tx = db::write(db).await?;
    sqlx::query(
        "INSERT INTO planning_locations (location_code, warehouse_code, warehouse_odoo_id, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (location_code) DO UPDATE SET warehouse_code = excluded.warehouse_code, warehouse_odoo_id = excluded.warehouse_odoo_id, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(&location)
    .bind(&warehouse)
    .bind(warehouse_odoo_id)
    .bind(actor.id)
    .bind(db::now())
    .execute(&mut *tx)
    .await?;
    audit(
        &mut *tx,
        Some(actor.id),
        "planning_location_mapped",
        &location,
        &format!("warehouse {warehouse}"),
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(format!(
        "Location {location} now stands for warehouse {warehouse}."
    ))
}

/// Maps a unit: 1 `unit` = `factor` `uom`.
pub async fn set_unit(
    db: &Db,
    actor: &CurrentUser,
    unit: &str,
    uom: &str,
    factor: &str,
    ip: &str,
) -> Result<String, PlanningError> {
    let unit = code("unit", unit)?;
    let uom = code("Odoo unit", uom)?;
    let Some(factor) = planning::parse_factor(factor) else {
        return Err(PlanningError::Invalid(format!(
            "“{}” is not a factor: how many {uom} one {unit} is (a number above 0, e.g. 12).",
            factor.trim()
        )));
    };
    let mut tx = db::write(db).await?;
    sqlx::query(
        "INSERT INTO planning_units (unit_code, uom_name, factor, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (unit_code) DO UPDATE SET uom_name = excluded.uom_name, factor = excluded.factor, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(&unit)
    .bind(&uom)
    .bind(factor.normalize().to_string())
    .bind(actor.id)
    .bind(db::now())
    .execute(&mut *tx)
    .await?;
    audit(
        &mut *tx,
        Some(actor.id),
        "planning_unit_mapped",
        &unit,
        &format!("1 {unit} = {factor} {uom}"),
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(format!(
        "1 {unit} now counts as {} {uom}.",
        factor.normalize()
    ))
}

/// Saves a source's column-mapping profile; `columns` holds `source column=canonical
/// field` pairs, one a line.
pub async fn set_profile(
    db: &Db,
    actor: &CurrentUser,
    profile: &Profile,
    ip: &str,
) -> Result<String, PlanningError> {
    let source = code("source", &profile.source)?;
    let canonical: Vec<&str> = SnapshotKind::Forecast
        .fields()
        .iter()
        .chain(SnapshotKind::Supply.fields())
        .map(|(f, _)| *f)
        .collect();
    let mut columns = std::collections::BTreeMap::new();
    for line in profile.columns.lines().filter(|l| !l.trim().is_empty()) {
        let Some((from, to)) = line.split_once('=') else {
            return Err(PlanningError::Invalid(format!(
                "“{line}”: write each column as `source column=canonical field`."
            )));
        };
        let to = to.trim().to_lowercase();
        if !canonical.contains(&to.as_str()) {
            return Err(PlanningError::Invalid(format!(
                "“{to}” is not a canonical field; use one of {}.",
                canonical.join(", ")
            )));
        }
        columns.insert(from.trim().to_lowercase(), to);
    }
    let date_format = profile.date_format.trim();
    let date_format = if date_format.is_empty() {
        planning::CANONICAL_DATE_FORMAT
    } else {
        date_format
    };
    let readable = !chrono::format::StrftimeItems::new(date_format)
        .any(|i| matches!(i, chrono::format::Item::Error));
    let sample = chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap_or_default();
    if !readable
        || planning::parse_date(&sample.format(date_format).to_string(), date_format)
            != Some(sample)
    {
        return Err(PlanningError::Invalid(format!(
            "“{date_format}” is not a date format that names a day: use e.g. %Y-%m-%d or %d.%m.%Y."
        )));
    }
    let decimal = profile.decimal_separator.trim();
    if !matches!(decimal, "." | ",") {
        return Err(PlanningError::Invalid(
            "The decimal separator is . or ,".into(),
        ));
    }
    let delimiter = match profile.delimiter.trim() {
        "" | "," => ",",
        ";" => ";",
        "tab" | "\\t" => "\t",
        _ => {
            return Err(PlanningError::Invalid(
                "The column delimiter is , or ; or tab.".into(),
            ))
        }
    };
    let json = serde_json::to_string(&columns).unwrap_or_else(|_| "{}".into());
    let mut tx = db::write(db).await?;
    sqlx::query(
        "INSERT INTO planning_profiles (source, columns, date_format, decimal_separator, delimiter, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (source) DO UPDATE SET columns = excluded.columns, date_format = excluded.date_format, decimal_separator = excluded.decimal_separator, delimiter = excluded.delimiter, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(&source)
    .bind(&json)
    .bind(date_format)
    .bind(decimal)
    .bind(delimiter)
    .bind(actor.id)
    .bind(db::now())
    .execute(&mut *tx)
    .await?;
    audit(
        &mut *tx,
        Some(actor.id),
        "planning_profile_saved",
        &source,
        &json,
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(format!("The profile of {source} is saved."))
}
