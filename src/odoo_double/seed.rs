//! Demo data for the double: a believable manufacturer's purchasing (two companies with a
//! warehouse each, six vendors with contacts, 60 products with vendor pricelists, 200
//! purchase orders in mixed states and 8 of the second company, some lot- and
//! serial-tracked products). Deterministic: the same seed gives the same records.

use serde_json::{json, Map, Value};

use super::env::{DoubleUser, Env};

/// Vendors the demo seeds: (partner id, name, product code prefix).
pub const DEMO_VENDORS: &[(i64, &str, &str)] = &[
    (10, "Gemini Furniture", "GF"),
    (11, "Wood Corner", "WC"),
    (12, "Ready Mat", "RM"),
    (13, "Azure Interior", "AZ"),
    (14, "Lumber & Co", "LC"),
    (15, "Steelworks Ltd", "SW"),
];

const PRODUCTS: &[&str] = &[
    "Oak Panel 18mm",
    "Birch Plywood 12mm",
    "Steel Bracket L",
    "Hinge Soft-Close",
    "Drawer Slide 450mm",
    "Cabinet Handle Matte",
    "Desk Leg Square",
    "Caster Wheel 50mm",
    "Foam Cushion 40x40",
    "Fabric Roll Grey",
    "Glass Shelf 8mm",
    "Wood Screw 4x40",
    "Dowel 8x35",
    "Edge Band White",
    "Lacquer Clear 5L",
    "Varnish Satin 1L",
    "Aluminium Profile 2m",
    "Rubber Foot 20mm",
    "Cable Grommet 60mm",
    "Monitor Arm",
    "Gas Lift Cylinder",
    "Chair Base Nylon",
    "Armrest Pad",
    "Mesh Back Frame",
    "Table Top Walnut",
    "MDF Board 16mm",
    "Veneer Sheet Ash",
    "Hex Bolt M8",
    "Washer M8",
    "Nut M8 Nylock",
    "Steel Tube 25x25",
    "Powder Coat Black",
    "Leather Hide Brown",
    "Thread Polyester",
    "Zipper 60cm",
    "Spring Pocket Unit",
    "Pallet Wrap",
    "Carton 600x400",
    "Corner Protector",
    "Label Roll",
    "LED Strip 1m",
    "Power Socket Module",
    "Lock Cam 20mm",
    "Key Blank",
    "Magnetic Catch",
    "Shelf Pin 5mm",
    "Back Panel HDF",
    "Leveling Glide",
    "Adhesive PVA 10kg",
    "Sanding Disc P120",
    "Drill Bit 8mm",
    "Router Bit Ogee",
    "Saw Blade 300mm",
    "Safety Gloves",
    "Ear Protection",
    "Dust Mask FFP2",
    "Control Board v2",
    "Motor 24V",
    "Battery Pack 36V",
    "Sensor Module",
];

/// Products start where the recorded Odoo's do (product 19 in shared/odoo-wire), so the
/// recorded exchanges that name products replay against the demo data.
const FIRST_PRODUCT_ID: i64 = 19;

fn rec(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect()
}

/// Users, company, currency and units: what every double has.
pub fn base(env: &mut Env, login: &str, api_key: &str) {
    env.insert(
        "res.currency",
        rec(&[
            ("id", json!(1)),
            ("name", json!("USD")),
            ("symbol", json!("$")),
        ]),
    );
    env.insert(
        "uom.uom",
        rec(&[
            ("id", json!(1)),
            ("name", json!("Units")),
            ("relative_factor", json!(1.0)),
            ("active", json!(true)),
        ]),
    );
    env.insert(
        "uom.uom",
        rec(&[
            ("id", json!(2)),
            ("name", json!("Dozens")),
            ("relative_factor", json!(12.0)),
            ("relative_uom_id", json!(1)),
            ("active", json!(true)),
        ]),
    );
    env.insert(
        "uom.uom",
        rec(&[
            ("id", json!(3)),
            ("name", json!("kg")),
            ("relative_factor", json!(1.0)),
            ("active", json!(true)),
        ]),
    );
    companies(env);
    env.insert(
        "res.partner",
        rec(&[
            ("id", json!(3)),
            ("name", json!("Mitchell Admin")),
            ("email", json!("admin@yourcompany.example.com")),
            ("phone", json!("+1 555-555-5555")),
            ("active", json!(true)),
        ]),
    );
    env.insert(
        "res.partner",
        rec(&[
            ("id", json!(4)),
            ("name", json!("Low Rights")),
            ("active", json!(true)),
        ]),
    );
    env.insert(
        "res.users",
        rec(&[
            ("id", json!(2)),
            ("name", json!("Mitchell Admin")),
            ("login", json!(login)),
            ("partner_id", json!(3)),
        ]),
    );
    env.insert(
        "res.users",
        rec(&[
            ("id", json!(7)),
            ("name", json!("Low Rights")),
            ("login", json!("hub_lowrights")),
            ("partner_id", json!(4)),
        ]),
    );
    // Each company's warehouse and the operation type its receipts use, where Inventory
    // is installed (jsonrpc/14: warehouse 1 "YourCompany" of company 1 receiving with
    // type 1, warehouse 2 "My Company (Chicago)" of company 3 receiving with type 9).
    if env.schema.modules.stock {
        for (warehouse, name, code, company, partner, receipts) in [
            (1, "YourCompany", "WH", 1, 1, super::env::RECEIPTS_TYPE),
            (
                2,
                "My Company (Chicago)",
                "My Co",
                SECOND_COMPANY,
                5,
                SECOND_COMPANY_RECEIPTS,
            ),
        ] {
            env.insert(
                "stock.warehouse",
                rec(&[
                    ("id", json!(warehouse)),
                    ("name", json!(name)),
                    ("code", json!(code)),
                    ("company_id", json!(company)),
                    ("partner_id", json!(partner)),
                    ("in_type_id", json!(receipts)),
                ]),
            );
            env.insert(
                "stock.picking.type",
                rec(&[
                    ("id", json!(receipts)),
                    ("name", json!("Receipts")),
                    ("code", json!("incoming")),
                    ("warehouse_id", json!(warehouse)),
                    ("company_id", json!(company)),
                ]),
            );
        }
    }
    // Units of measure categories exist before 19 (v17/jsonrpc/80).
    if env.version < 19 {
        for (id, name) in [(1, "Unit"), (2, "Weight"), (3, "Working Time")] {
            env.insert(
                "uom.category",
                rec(&[("id", json!(id)), ("name", json!(name))]),
            );
        }
    }
    // The module list: what this double presents as installed, and one that is not.
    for (name, shortdesc, version) in env.schema.installed_modules() {
        env.insert(
            "ir.module.module",
            rec(&[
                ("name", json!(name)),
                ("shortdesc", json!(shortdesc)),
                ("installed_version", json!(version)),
                ("state", json!("installed")),
            ]),
        );
    }
    for name in ["stock_delivery", "mrp_plm"] {
        if !env
            .table("ir.module.module")
            .any(|(_, m)| m["name"] == name)
        {
            env.insert(
                "ir.module.module",
                rec(&[("name", json!(name)), ("state", json!("uninstalled"))]),
            );
        }
    }
    env.users.push(DoubleUser {
        uid: 2,
        login: login.to_string(),
        password: format!("{api_key}-password"),
        api_keys: vec![api_key.to_string()],
        full_rights: true,
        partner_id: 3,
    });
    env.users.push(DoubleUser {
        uid: 7,
        login: "hub_lowrights".into(),
        password: "lowrights-password".into(),
        api_keys: vec![format!("{api_key}-lowrights")],
        full_rights: false,
        partner_id: 4,
    });
}

/// The second company of the recorded Odoo (jsonrpc/14: "My Company (Chicago)", id 3, its
/// warehouse 2 receiving with operation type 9).
pub const SECOND_COMPANY: i64 = 3;
pub const SECOND_COMPANY_RECEIPTS: i64 = 9;
/// A customer's address some demo orders are drop-shipped to.
pub const DROP_SHIP_PARTNER: i64 = 6;
/// Payment terms and incoterms the demo orders use (the double's own ids; names and codes
/// as addons/account/data ships them).
pub const PAYMENT_TERM_30_DAYS: i64 = 4;
pub const INCOTERM_FCA: i64 = 2;

/// The two companies with their addresses, and the countries, payment terms and
/// incoterms orders name.
fn companies(env: &mut Env) {
    env.insert(
        "res.country",
        rec(&[
            ("id", json!(233)),
            ("name", json!("United States")),
            ("code", json!("US")),
        ]),
    );
    for (id, name) in [(1, "Immediate Payment"), (PAYMENT_TERM_30_DAYS, "30 Days")] {
        env.insert(
            "account.payment.term",
            rec(&[("id", json!(id)), ("name", json!(name))]),
        );
    }
    for (id, code, name) in [
        (1, "EXW", "EX WORKS"),
        (INCOTERM_FCA, "FCA", "FREE CARRIER"),
        (9, "DAP", "DELIVERED AT PLACE"),
    ] {
        env.insert(
            "account.incoterms",
            rec(&[
                ("id", json!(id)),
                ("code", json!(code)),
                ("name", json!(name)),
            ]),
        );
    }
    // Company 1 and its partner 1 as recorded (jsonrpc/14 and 22 name them); the address
    // is the one Odoo's demo data gives "My Company (San Francisco)".
    let companies = [
        (
            1,
            1,
            "My Company (San Francisco)",
            "250 Executive Park Blvd, Suite 3400",
            "94134",
            "San Francisco",
            "US12345671",
        ),
        (
            SECOND_COMPANY,
            5,
            "My Company (Chicago)",
            "90 Streets Avenue",
            "60610",
            "Chicago",
            "US12345672",
        ),
    ];
    for (company, partner, name, street, zip, city, vat) in companies {
        env.insert(
            "res.partner",
            rec(&[
                ("id", json!(partner)),
                ("name", json!(name)),
                ("is_company", json!(true)),
                ("street", json!(street)),
                ("zip", json!(zip)),
                ("city", json!(city)),
                ("country_id", json!(233)),
                ("vat", json!(vat)),
                ("active", json!(true)),
            ]),
        );
        env.insert(
            "res.company",
            rec(&[
                ("id", json!(company)),
                ("name", json!(name)),
                ("partner_id", json!(partner)),
                ("street", json!(street)),
                ("zip", json!(zip)),
                ("city", json!(city)),
                ("country_id", json!(233)),
                ("vat", json!(vat)),
            ]),
        );
    }
    env.insert(
        "res.partner",
        rec(&[
            ("id", json!(DROP_SHIP_PARTNER)),
            ("name", json!("Deco Addict")),
            ("is_company", json!(true)),
            ("street", json!("77 Santa Barbara Rd")),
            ("zip", json!("94523")),
            ("city", json!("Pleasant Hill")),
            ("country_id", json!(233)),
            ("active", json!(true)),
        ]),
    );
}

/// The demo company: vendors, products, pricelists and 200 purchase orders.
pub fn demo(env: &mut Env) {
    catalogue(env);
    // Stock at the main warehouse, for the planning supply's on-hand rows.
    for i in 0..PRODUCTS.len() as i64 {
        env.on_hand
            .insert((FIRST_PRODUCT_ID + i, 1), ((i * 37) % 90 + 4) as f64);
    }
    demo_orders(env);
    second_company_orders(env);
    reordering_rules(env);
}

/// A few reordering rules at the main warehouse (the buyer's own, on the automatic
/// trigger), so the demo's planning push finds rules to align as well as ones to create.
fn reordering_rules(env: &mut Env) {
    if !env.schema.modules.stock {
        return;
    }
    for (i, (min, max)) in [(5.0, 20.0), (10.0, 40.0), (0.0, 12.0)]
        .into_iter()
        .enumerate()
    {
        let mut r = rec(&[
            ("product_id", json!(FIRST_PRODUCT_ID + i as i64)),
            ("warehouse_id", json!(1)),
            ("company_id", json!(super::env::MAIN_COMPANY)),
            ("name", json!(format!("OP/{:05}", i + 1))),
            ("product_min_qty", json!(min)),
            ("product_max_qty", json!(max)),
            ("trigger", json!("auto")),
            ("active", json!(true)),
        ]);
        if env.version < 19 {
            r.insert("qty_multiple".into(), json!(1.0));
        }
        env.insert("stock.warehouse.orderpoint", r);
    }
}

/// Benchmark data: the demo's vendors and products, and `orders` confirmed purchase
/// orders of `lines` lines each, all for the first demo vendor (Gemini Furniture).
/// Records are inserted as Odoo stores them after confirmation (no receipts), which keeps
/// seeding linear in the number of records. Each order was last written when it was
/// confirmed, a minute after the one before, as a backlog built up over days is: not all
/// in the second the double started (which a poller would have to read again in full
/// until that second is settled).
pub fn bulk(env: &mut Env, orders: usize, lines: usize) {
    catalogue(env);
    let now = chrono::Utc::now().naive_utc();
    let fmt = |d: chrono::NaiveDateTime| d.format(super::env::DATETIME_FORMAT).to_string();
    let (vendor, _, _) = DEMO_VENDORS[0];
    for i in 0..orders as i64 {
        let ordered = fmt(now - chrono::Duration::minutes(orders as i64 - i));
        let order = env.insert(
            "purchase.order",
            rec(&[
                ("name", json!(format!("B{:06}", i + 1))),
                ("partner_id", json!(vendor)),
                ("state", json!("purchase")),
                ("date_order", json!(ordered)),
                ("date_approve", json!(ordered)),
                ("create_date", json!(ordered)),
                ("write_date", json!(ordered)),
                ("currency_id", json!(1)),
                ("user_id", json!(2)),
            ]),
        );
        for l in 0..lines as i64 {
            let product = FIRST_PRODUCT_ID + ((i * 7 + l * 13) % PRODUCTS.len() as i64);
            let planned = (now + chrono::Duration::days(3 + (i + l * 5) % 40))
                .date()
                .and_hms_opt(8, 0, 0)
                .expect("valid time");
            env.insert(
                "purchase.order.line",
                rec(&[
                    ("order_id", json!(order)),
                    ("sequence", json!(10 + l)),
                    ("product_id", json!(product)),
                    (
                        "name",
                        json!(PRODUCTS[(product - FIRST_PRODUCT_ID) as usize]),
                    ),
                    ("product_qty", json!((5 * (1 + (i + l) % 12)) as f64)),
                    ("product_uom_id", json!(1)),
                    (
                        "price_unit",
                        json!(((product * 37) % 400) as f64 / 4.0 + 2.5),
                    ),
                    ("date_planned", json!(fmt(planned))),
                    ("qty_received", json!(0.0)),
                    ("create_date", json!(ordered.clone())),
                    ("write_date", json!(ordered.clone())),
                ]),
            );
        }
    }
}

/// Vendors (with a contact person each), products and vendor pricelists.
fn catalogue(env: &mut Env) {
    for (i, (id, name, _)) in DEMO_VENDORS.iter().enumerate() {
        let slug = name.to_lowercase().replace([' ', '&'], "");
        env.insert(
            "res.partner",
            rec(&[
                ("id", json!(id)),
                ("name", json!(name)),
                ("is_company", json!(true)),
                ("supplier_rank", json!(1)),
                ("email", json!(format!("orders@{slug}.example"))),
                (
                    "city",
                    json!(["Antwerp", "Lyon", "Porto", "Leeds", "Graz", "Tampere"][i % 6]),
                ),
                ("active", json!(true)),
            ]),
        );
        env.insert(
            "res.partner",
            rec(&[
                ("id", json!(id + 10)),
                (
                    "name",
                    json!(
                        [
                            "Ana Silva",
                            "Tom Baker",
                            "Lea Roux",
                            "Jan Novak",
                            "Mia Berg",
                            "Ole Dahl"
                        ][i % 6]
                    ),
                ),
                ("parent_id", json!(id)),
                ("email", json!(format!("sales@{slug}.example"))),
                ("active", json!(true)),
            ]),
        );
    }
    for (i, name) in PRODUCTS.iter().enumerate() {
        let pid = FIRST_PRODUCT_ID + i as i64;
        let tracking = if i % 11 == 5 || i % 30 == 6 {
            "serial"
        } else if i % 7 == 3 {
            "lot"
        } else {
            "none"
        };
        env.insert(
            "product.product",
            rec(&[
                ("id", json!(pid)),
                ("name", json!(name)),
                // One variant per template: the template shares the variant's id.
                ("product_tmpl_id", json!(pid)),
                ("default_code", json!(format!("MC-{:04}", 1000 + i))),
                ("uom_id", json!(if name.contains("10kg") { 3 } else { 1 })),
                ("tracking", json!(tracking)),
                ("is_storable", json!(true)),
                ("purchase_ok", json!(true)),
                ("active", json!(true)),
            ]),
        );
        for (k, offset) in [0usize, 2].iter().enumerate() {
            if k == 1 && i % 3 != 0 {
                continue;
            }
            let (vendor, _, prefix) = DEMO_VENDORS[(i + offset) % DEMO_VENDORS.len()];
            env.insert(
                "product.supplierinfo",
                rec(&[
                    ("partner_id", json!(vendor)),
                    ("product_id", json!(pid)),
                    ("product_tmpl_id", json!(pid)),
                    ("product_code", json!(format!("{prefix}-{}", 5000 + i * 7))),
                    ("product_name", json!(format!("{name} ({prefix} spec)"))),
                    ("min_qty", json!(((i % 4) * 5) as f64)),
                    ("price", json!(((i * 37) % 400) as f64 / 4.0 + 2.5)),
                    ("delay", json!(3 + (i % 5) * 2)),
                    ("product_uom_id", json!(1)),
                    ("currency_id", json!(1)),
                ]),
            );
        }
    }
}

/// 200 purchase orders spread over the vendors, in mixed states.
fn demo_orders(env: &mut Env) {
    let now = chrono::Utc::now().naive_utc();
    let fmt = |d: chrono::NaiveDateTime| d.format(super::env::DATETIME_FORMAT).to_string();
    let admin = env.users[0].clone();
    for i in 0..200i64 {
        let (vendor, _, _) = DEMO_VENDORS[(i as usize) % DEMO_VENDORS.len()];
        let ordered = now - chrono::Duration::hours(2 * (200 - i));
        let mut lines = Vec::new();
        for l in 0..(1 + i % 4) {
            let product = FIRST_PRODUCT_ID + ((i * 7 + l * 13) % PRODUCTS.len() as i64);
            let planned = (now + chrono::Duration::days(3 + (i + l * 5) % 40))
                .date()
                .and_hms_opt(8, 0, 0)
                .expect("valid time");
            lines.push(json!([0, 0, {
                "product_id": product,
                "product_qty": (5 * (1 + (i + l) % 12)) as f64,
                "price_unit": ((product * 37) % 400) as f64 / 4.0 + 2.5,
                "date_planned": fmt(planned),
            }]));
        }
        if i == 6 {
            // Odoo prints section and note lines between the goods (by sequence; created
            // after the goods, so the order's first line by id is still one with goods).
            let planned = lines[0][2]["date_planned"].clone();
            lines.push(json!([0, 0, {"display_type": "line_section", "name": "Workshop B", "sequence": 1, "date_planned": planned}]));
            lines.push(json!([0, 0, {"display_type": "line_note", "name": "Deliver on pallets, 1.2 m high at most", "sequence": 11, "date_planned": planned}]));
        }
        let mut vals = json!({
            "name": format!("P{:05}", i + 1),
            "partner_id": vendor,
            "date_order": fmt(ordered),
            "user_id": 2,
            "order_line": lines,
        });
        header_terms(env, &mut vals, i);
        let mut params = Map::new();
        params.insert("vals_list".into(), json!([vals]));
        let created = env
            .execute(&admin, "purchase.order", "create", None, params)
            .expect("seed order");
        let id = created[0].as_i64().expect("id");
        let state = match i % 20 {
            0 => "cancel",
            3 | 13 => "draft",
            7 => "sent",
            _ => "purchase",
        };
        if state == "sent" {
            let mut p = Map::new();
            p.insert("vals".into(), json!({"state": "sent"}));
            env.execute(&admin, "purchase.order", "write", Some(vec![id]), p)
                .expect("seed sent");
        }
        if state == "purchase" || state == "cancel" {
            env.execute(
                &admin,
                "purchase.order",
                "button_confirm",
                Some(vec![id]),
                Map::new(),
            )
            .expect("seed confirm");
        }
        if state == "cancel" {
            env.execute(
                &admin,
                "purchase.order",
                "button_cancel",
                Some(vec![id]),
                Map::new(),
            )
            .expect("seed cancel");
        }
        // The oldest confirmed orders have been received already.
        if state == "purchase" && i < 30 && i % 3 == 0 {
            let picking = env
                .table("stock.picking")
                .find(|(_, p)| p.get("purchase_id").and_then(Value::as_i64) == Some(id))
                .map(|(pid, _)| *pid);
            if let Some(picking) = picking {
                env.execute(
                    &admin,
                    "stock.picking",
                    "button_validate",
                    Some(vec![picking]),
                    Map::new(),
                )
                .expect("seed receipt");
            }
        }
    }
}

/// Varied terms on the demo orders, only in fields this double's Odoo has: payment terms,
/// incoterm and its location, the vendor's reference, terms and conditions, and one order
/// drop-shipped to a customer (P00007, Gemini Furniture's).
fn header_terms(env: &Env, vals: &mut Value, i: i64) {
    let po = super::schema::model("purchase.order").expect("schema");
    let mut set = |field: &str, value: Value| {
        if env.schema.field(po, field).is_some() {
            vals[super::schema::wire_field(env.version, "purchase.order", field)] = value;
        }
    };
    match i % 4 {
        0 | 2 => set("payment_term_id", json!(PAYMENT_TERM_30_DAYS)),
        1 => set("payment_term_id", json!(1)),
        _ => {}
    }
    if i % 3 == 0 {
        set("incoterm_id", json!(INCOTERM_FCA));
        set("incoterm_location", json!("Antwerp port"));
    }
    if i % 5 == 0 {
        set("partner_ref", json!(format!("SO-{:04}", 7000 + i)));
    }
    if i % 2 == 0 {
        set("note", json!("Deliveries Monday to Friday, 7:00 to 15:00. Quote the PO number on every delivery note."));
    }
    if i == 6 {
        set("dest_address_id", json!(DROP_SHIP_PARTNER));
    }
}

/// Orders of the second company for the first two demo vendors (Gemini Furniture and Wood
/// Corner), received at its own warehouse: P00201..P00208.
fn second_company_orders(env: &mut Env) {
    let now = chrono::Utc::now().naive_utc();
    let fmt = |d: chrono::NaiveDateTime| d.format(super::env::DATETIME_FORMAT).to_string();
    let admin = env.users[0].clone();
    for k in 0..8i64 {
        let (vendor, _, _) = DEMO_VENDORS[(k % 2) as usize];
        let product = FIRST_PRODUCT_ID + (k * 5) % PRODUCTS.len() as i64;
        let planned = (now + chrono::Duration::days(5 + k))
            .date()
            .and_hms_opt(8, 0, 0)
            .expect("valid time");
        let mut vals = json!({
            "name": format!("P{:05}", 201 + k),
            "partner_id": vendor,
            "company_id": SECOND_COMPANY,
            "date_order": fmt(now - chrono::Duration::hours(3 * (8 - k))),
            "user_id": 2,
            "order_line": [[0, 0, {
                "product_id": product,
                "product_qty": (10 * (1 + k)) as f64,
                "price_unit": ((product * 37) % 400) as f64 / 4.0 + 2.5,
                "date_planned": fmt(planned),
            }]],
        });
        header_terms(env, &mut vals, k + 1);
        let mut params = Map::new();
        params.insert("vals_list".into(), json!([vals]));
        let created = env
            .execute(&admin, "purchase.order", "create", None, params)
            .expect("seed order");
        let id = created[0].as_i64().expect("id");
        env.execute(
            &admin,
            "purchase.order",
            "button_confirm",
            Some(vec![id]),
            Map::new(),
        )
        .expect("seed confirm");
    }
}

/// The records the Odoo 17.0 recordings name (shared/odoo-wire/v17), at the same ids, so
/// the contract test replays them: vendor "Lab17 Supplier Co" (43), its confirmed orders
/// P00025..P00031 (ids 25..31; P00025's lines 61-63), the receipts of P00026 (37: move 81,
/// lot-tracked move line 73) and P00028 (38: moves 87, 88, move line 79), and the next
/// chatter message and attachment ids the recordings got (335, 787).
pub fn recorded_17(env: &mut Env) {
    env.insert(
        "res.partner",
        rec(&[
            ("id", json!(43)),
            ("name", json!("Lab17 Supplier Co")),
            ("is_company", json!(true)),
            ("supplier_rank", json!(1)),
            ("email", json!("lab17supplier@example.com")),
            ("active", json!(true)),
        ]),
    );
    for (id, name, code, tracking) in [
        (18, "Storage Box", "E-COM08", "none"),
        (32, "Drawer", "FURN_8855", "none"),
        (33, "Four Person Desk", "FURN_8220", "none"),
        (36, "Cable Management Box", "FURN_5555", "lot"),
    ] {
        env.insert(
            "product.product",
            rec(&[
                ("id", json!(id)),
                ("name", json!(name)),
                ("product_tmpl_id", json!(id)),
                ("default_code", json!(code)),
                ("uom_id", json!(1)),
                ("tracking", json!(tracking)),
                ("purchase_ok", json!(true)),
                ("active", json!(true)),
            ]),
        );
        env.insert(
            "product.supplierinfo",
            rec(&[
                ("partner_id", json!(43)),
                ("product_id", json!(id)),
                ("product_tmpl_id", json!(id)),
                ("product_code", json!(format!("L17-{id}"))),
                ("product_name", json!(name)),
                ("min_qty", json!(1.0)),
                ("price", json!(100.0)),
                ("delay", json!(5)),
                ("product_uom_id", json!(1)),
                ("currency_id", json!(1)),
            ]),
        );
    }
    let now = env.now();
    for po in 25..=31i64 {
        env.insert(
            "purchase.order",
            rec(&[
                ("id", json!(po)),
                ("name", json!(format!("P{po:05}"))),
                ("partner_id", json!(43)),
                ("partner_ref", json!(format!("LAB17-{:03}", po - 11))),
                ("state", json!("purchase")),
                ("date_order", json!(now)),
                ("date_approve", json!(now)),
                ("currency_id", json!(1)),
                ("user_id", json!(2)),
                ("picking_type_id", json!(super::env::RECEIPTS_TYPE)),
            ]),
        );
    }
    let line = |env: &mut Env, id: i64, order: i64, product: i64, qty: f64| {
        env.insert(
            "purchase.order.line",
            rec(&[
                ("id", json!(id)),
                ("order_id", json!(order)),
                ("sequence", json!(10)),
                ("name", json!(env.display_name("product.product", product))),
                ("product_id", json!(product)),
                ("product_qty", json!(qty)),
                ("product_uom_id", json!(1)),
                ("price_unit", json!(2500.0)),
                ("date_planned", json!("2026-12-28 10:00:00")),
                ("qty_received", json!(0.0)),
            ]),
        );
    };
    line(env, 61, 25, 33, 19.0);
    line(env, 62, 25, 32, 5.0);
    line(env, 63, 25, 18, 3.0);
    line(env, 64, 26, 36, 5.0);
    line(env, 65, 28, 32, 89.0);
    line(env, 66, 28, 18, 4.0);
    let picking = |env: &mut Env, id: i64, name: &str, order: i64| {
        env.insert(
            "stock.picking",
            rec(&[
                ("id", json!(id)),
                ("name", json!(name)),
                ("partner_id", json!(43)),
                ("origin", json!(format!("P{order:05}"))),
                ("scheduled_date", json!("2026-12-28 10:00:00")),
                ("state", json!("assigned")),
                ("purchase_id", json!(order)),
                ("picking_type_code", json!("incoming")),
                ("picking_type_id", json!(super::env::RECEIPTS_TYPE)),
            ]),
        );
    };
    picking(env, 37, "WH/IN/00021", 26);
    picking(env, 38, "WH/IN/00023", 28);
    for (id, picking_id, line_id, product, qty, move_line) in [
        (81, 37, 64, 36, 5.0, 73),
        (87, 38, 65, 32, 89.0, 79),
        (88, 38, 66, 18, 4.0, 80),
    ] {
        env.insert(
            "stock.move",
            rec(&[
                ("id", json!(id)),
                ("name", json!(env.display_name("product.product", product))),
                ("picking_id", json!(picking_id)),
                ("product_id", json!(product)),
                ("product_uom_qty", json!(qty)),
                ("quantity", json!(qty)),
                ("product_uom", json!(1)),
                ("state", json!("assigned")),
                ("purchase_line_id", json!(line_id)),
                ("picked", json!(false)),
            ]),
        );
        env.insert(
            "stock.move.line",
            rec(&[
                ("id", json!(move_line)),
                ("move_id", json!(id)),
                ("picking_id", json!(picking_id)),
                ("product_id", json!(product)),
                ("quantity", json!(qty)),
                ("product_uom_id", json!(1)),
                ("picked", json!(false)),
            ]),
        );
    }
    env.reserve_ids("mail.message", 335);
    env.reserve_ids("ir.attachment", 787);
}

/// What a buyer's replenishment in Odoo makes of a reordering rule, confirmed: a purchase
/// order from `vendor` for `quantity` of `product`, planned at 08:00 UTC on `planned`, whose
/// `origin` is the rule's name (as Odoo writes it). Its id, or None if the double refused.
pub fn replenish(
    env: &mut Env,
    vendor: i64,
    product: i64,
    quantity: f64,
    planned: chrono::NaiveDate,
    rule_name: &str,
) -> Option<i64> {
    let admin = env.users[0].clone();
    let mut params = Map::new();
    params.insert(
        "vals_list".into(),
        json!([{
            "partner_id": vendor,
            "origin": rule_name,
            "user_id": 2,
            "order_line": [[0, 0, {
                "product_id": product,
                "product_qty": quantity,
                "price_unit": ((product * 37) % 400) as f64 / 4.0 + 2.5,
                "date_planned": format!("{planned} 08:00:00"),
            }]],
        }]),
    );
    let id = env
        .execute(&admin, "purchase.order", "create", None, params)
        .ok()?
        .get(0)?
        .as_i64()?;
    env.execute(
        &admin,
        "purchase.order",
        "button_confirm",
        Some(vec![id]),
        Map::new(),
    )
    .ok()?;
    Some(id)
}
